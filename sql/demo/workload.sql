-- The demo's production workload on the WSO2 Carbon 4.1.x user store: what an identity server
-- does during an upgrade window. `SELECT demo_workload.step(i)` runs one transaction of one
-- kind (chosen from i): new tenants with their roles, permissions and user stores, new users
-- with attributes and role assignments, password changes, role renames, user-store config
-- edits, and deletes of users, assignments and user stores.
-- The functions live in schema demo_workload (not replicated, not copied to staging).

\set ON_ERROR_STOP 1
CREATE SCHEMA IF NOT EXISTS demo_workload;

CREATE OR REPLACE FUNCTION demo_workload.any_tenant() RETURNS integer LANGUAGE sql AS $$
  SELECT tid FROM (SELECT -1234 AS tid UNION ALL SELECT um_id FROM um_tenant) t
  ORDER BY random() LIMIT 1
$$;

-- A tenant as Carbon provisions it: tenant row, admin user and role, internal roles,
-- permissions with grants, claim dialect and a secondary user store.
CREATE OR REPLACE FUNCTION demo_workload.add_tenant(i integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t integer;
  admin_role integer;
  admin_user integer;
  everyone integer;
  root_path integer;
  store_path integer;
  content integer;
BEGIN
  INSERT INTO um_tenant (um_domain_name, um_email, um_active, um_created_date, um_user_config)
  VALUES ('window' || i || '.example.org', 'admin@window' || i || '.example.org', true, now(),
          convert_to('<UserManager/>', 'UTF8'))
  RETURNING um_id INTO t;
  INSERT INTO um_role (um_role_name, um_tenant_id) VALUES ('admin', t) RETURNING um_id INTO admin_role;
  INSERT INTO um_role (um_role_name, um_tenant_id) VALUES ('developer', t), ('subscriber', t);
  INSERT INTO um_hybrid_role (um_role_name, um_tenant_id) VALUES ('everyone', t) RETURNING um_id INTO everyone;
  INSERT INTO um_user (um_user_name, um_user_password, um_salt_value, um_changed_time, um_tenant_id)
  VALUES ('admin', md5('admin' || i), substr(md5(i::text), 1, 12), now(), t) RETURNING um_id INTO admin_user;
  INSERT INTO um_user_role (um_role_id, um_user_id, um_tenant_id) VALUES (admin_role, admin_user, t);
  INSERT INTO um_hybrid_user_role (um_user_name, um_role_id, um_tenant_id) VALUES ('admin', everyone, t);
  INSERT INTO um_permission (um_resource_id, um_action, um_tenant_id)
  SELECT p, 'ui.execute', t FROM unnest(ARRAY['/permission', '/permission/admin/login']) p;
  INSERT INTO um_role_permission (um_permission_id, um_role_name, um_is_allowed, um_tenant_id)
  SELECT um_id, CASE um_resource_id WHEN '/permission' THEN 'admin' ELSE 'everyone' END, 1, t
  FROM um_permission WHERE um_tenant_id = t;
  INSERT INTO um_dialect (um_dialect_uri, um_tenant_id) VALUES ('http://wso2.org/claims', t);
  INSERT INTO um_claim (um_dialect_id, um_claim_uri, um_mapped_attribute, um_supported, um_tenant_id)
  SELECT um_id, 'http://wso2.org/claims/emailaddress', 'mail', 1, t FROM um_dialect WHERE um_tenant_id = t;
  INSERT INTO reg_path (reg_path_value, reg_path_parent_id, reg_tenant_id) VALUES ('/', NULL, t)
  RETURNING reg_path_id INTO root_path;
  INSERT INTO reg_path (reg_path_value, reg_path_parent_id, reg_tenant_id)
  VALUES ('/_system/config/userstores', root_path, t) RETURNING reg_path_id INTO store_path;
  INSERT INTO reg_content (reg_content_data, reg_tenant_id)
  VALUES (convert_to('<UserStoreManager><Property name="DomainName">STORE1</Property></UserStoreManager>', 'UTF8'), t)
  RETURNING reg_content_id INTO content;
  INSERT INTO reg_resource (reg_path_id, reg_name, reg_media_type, reg_creator, reg_created_time,
                            reg_last_updator, reg_last_updated_time, reg_content_id, reg_tenant_id, reg_uuid)
  VALUES (store_path, 'STORE1.xml', 'application/xml', 'admin', now(), 'admin', now(), content, t, md5(random()::text));
END $$;

CREATE OR REPLACE FUNCTION demo_workload.add_user(i integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t integer := demo_workload.any_tenant();
  u integer;
BEGIN
  INSERT INTO um_user (um_user_name, um_user_password, um_salt_value, um_require_change, um_changed_time, um_tenant_id)
  VALUES ('w' || i, encode(sha256(convert_to('pw' || i, 'UTF8')), 'base64'), substr(md5(random()::text), 1, 12),
          i % 3 = 0, now(), t)
  RETURNING um_id INTO u;
  INSERT INTO um_user_attribute (um_attr_name, um_attr_value, um_profile_id, um_user_id, um_tenant_id)
  VALUES ('mail', 'w' || i || '@example.com', 'default', u, t), ('givenName', 'W' || i, 'default', u, t);
  INSERT INTO um_user_role (um_role_id, um_user_id, um_tenant_id)
  SELECT um_id, u, t FROM um_role WHERE um_tenant_id = t AND um_role_name <> 'admin'
  ORDER BY random() LIMIT 1 + i % 2;
  INSERT INTO um_hybrid_user_role (um_user_name, um_role_id, um_tenant_id)
  SELECT 'w' || i, um_id, t FROM um_hybrid_role WHERE um_tenant_id = t AND um_role_name = 'everyone';
END $$;

CREATE OR REPLACE FUNCTION demo_workload.add_store_user(i integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO um_hybrid_user_role (um_user_name, um_role_id, um_tenant_id)
  SELECT (ARRAY['STORE1', 'STORE2'])[1 + i % 2] || '/w' || i, um_id, um_tenant_id
  FROM um_hybrid_role WHERE um_role_name = 'everyone' ORDER BY random() LIMIT 1
$$;

CREATE OR REPLACE FUNCTION demo_workload.add_role(i integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  t integer := demo_workload.any_tenant();
  r integer;
BEGIN
  INSERT INTO um_role (um_role_name, um_tenant_id) VALUES ('role' || i, t) RETURNING um_id INTO r;
  INSERT INTO um_permission (um_resource_id, um_action, um_tenant_id)
  VALUES ('/permission/applications/app' || i, 'ui.execute', t);
  INSERT INTO um_role_permission (um_permission_id, um_role_name, um_is_allowed, um_tenant_id)
  VALUES (currval('um_permission_pk_seq')::integer, 'role' || i, 1, t);
  INSERT INTO um_user_role (um_role_id, um_user_id, um_tenant_id)
  SELECT r, um_id, t FROM um_user WHERE um_tenant_id = t ORDER BY random() LIMIT 3;
END $$;

CREATE OR REPLACE FUNCTION demo_workload.change_password() RETURNS void LANGUAGE sql AS $$
  UPDATE um_user SET um_user_password = md5(random()::text), um_salt_value = substr(md5(random()::text), 1, 12),
                     um_require_change = NOT um_require_change, um_changed_time = now()
  WHERE (um_id, um_tenant_id) IN (SELECT um_id, um_tenant_id FROM um_user ORDER BY random() LIMIT 5)
$$;

CREATE OR REPLACE FUNCTION demo_workload.update_profiles() RETURNS void LANGUAGE sql AS $$
  UPDATE um_user_attribute SET um_attr_value = um_attr_value || '.'
  WHERE um_attr_name = 'organizationName'
    AND (um_id, um_tenant_id) IN (SELECT um_id, um_tenant_id FROM um_user_attribute
                                  WHERE um_attr_name = 'organizationName' ORDER BY random() LIMIT 10)
$$;

-- Renaming a role also renames its grants (UM_ROLE_PERMISSION refers to roles by name).
CREATE OR REPLACE FUNCTION demo_workload.rename_role(i integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  SELECT um_id, um_tenant_id, um_role_name INTO r FROM um_role
  WHERE um_role_name LIKE 'role%' ORDER BY random() LIMIT 1;
  IF NOT FOUND THEN RETURN; END IF;
  UPDATE um_role SET um_role_name = 'renamed' || i WHERE um_id = r.um_id AND um_tenant_id = r.um_tenant_id;
  UPDATE um_role_permission SET um_role_name = 'renamed' || i
  WHERE um_role_name = r.um_role_name AND um_tenant_id = r.um_tenant_id;
END $$;

CREATE OR REPLACE FUNCTION demo_workload.delete_user() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  u record;
BEGIN
  SELECT um_id, um_tenant_id, um_user_name INTO u FROM um_user
  WHERE um_user_name <> 'admin' ORDER BY random() LIMIT 1;
  IF NOT FOUND THEN RETURN; END IF;
  DELETE FROM um_user_attribute WHERE um_user_id = u.um_id AND um_tenant_id = u.um_tenant_id;
  DELETE FROM um_user_role WHERE um_user_id = u.um_id AND um_tenant_id = u.um_tenant_id;
  DELETE FROM um_hybrid_user_role WHERE um_user_name = u.um_user_name AND um_tenant_id = u.um_tenant_id;
  DELETE FROM um_user_permission WHERE um_user_name = u.um_user_name AND um_tenant_id = u.um_tenant_id;
  DELETE FROM um_user WHERE um_id = u.um_id AND um_tenant_id = u.um_tenant_id;
END $$;

CREATE OR REPLACE FUNCTION demo_workload.revoke_role() RETURNS void LANGUAGE sql AS $$
  DELETE FROM um_user_role
  WHERE (um_id, um_tenant_id) IN (SELECT um_id, um_tenant_id FROM um_user_role ORDER BY random() LIMIT 2)
$$;

-- A new secondary user store for a tenant (registry resource + content), or an edit of one.
CREATE OR REPLACE FUNCTION demo_workload.add_store(i integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  p record;
  content integer;
BEGIN
  SELECT reg_path_id, reg_tenant_id INTO p FROM reg_path
  WHERE reg_path_value = '/_system/config/userstores' ORDER BY random() LIMIT 1;
  INSERT INTO reg_content (reg_content_data, reg_tenant_id)
  VALUES (convert_to('<UserStoreManager><Property name="DomainName">WSTORE' || i || '</Property></UserStoreManager>', 'UTF8'),
          p.reg_tenant_id)
  RETURNING reg_content_id INTO content;
  INSERT INTO reg_resource (reg_path_id, reg_name, reg_media_type, reg_creator, reg_created_time,
                            reg_last_updator, reg_last_updated_time, reg_content_id, reg_tenant_id, reg_uuid)
  VALUES (p.reg_path_id, 'WSTORE' || i || '.xml', 'application/xml', 'admin', now(), 'admin', now(),
          content, p.reg_tenant_id, md5(random()::text));
  INSERT INTO reg_log (reg_path, reg_user_id, reg_logged_time, reg_action, reg_tenant_id)
  VALUES ('/_system/config/userstores/WSTORE' || i || '.xml', 'admin', now(), 1, p.reg_tenant_id);
END $$;

CREATE OR REPLACE FUNCTION demo_workload.edit_store() RETURNS void LANGUAGE sql AS $$
  UPDATE reg_content SET reg_content_data = reg_content_data || convert_to('<!-- edited -->', 'UTF8')
  WHERE (reg_content_id, reg_tenant_id) IN (SELECT reg_content_id, reg_tenant_id FROM reg_content ORDER BY random() LIMIT 1);
  UPDATE reg_resource SET reg_last_updated_time = now(), reg_last_updator = 'admin'
  WHERE (reg_version, reg_tenant_id) IN (SELECT reg_version, reg_tenant_id FROM reg_resource ORDER BY random() LIMIT 1);
$$;

CREATE OR REPLACE FUNCTION demo_workload.delete_store() RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  SELECT reg_version, reg_tenant_id, reg_content_id INTO r FROM reg_resource
  WHERE reg_name LIKE 'WSTORE%' ORDER BY random() LIMIT 1;
  IF NOT FOUND THEN RETURN; END IF;
  DELETE FROM reg_resource WHERE reg_version = r.reg_version AND reg_tenant_id = r.reg_tenant_id;
  DELETE FROM reg_content WHERE reg_content_id = r.reg_content_id AND reg_tenant_id = r.reg_tenant_id;
END $$;

CREATE OR REPLACE FUNCTION demo_workload.toggle_tenant() RETURNS void LANGUAGE sql AS $$
  UPDATE um_tenant SET um_active = NOT um_active, um_email = 'ops+' || um_id || '@example.com'
  WHERE um_id = (SELECT um_id FROM um_tenant ORDER BY random() LIMIT 1)
$$;

-- One transaction of the workload; the kind is chosen by i so a run is a fixed mix:
-- per 40 steps: 1 tenant, 12 users, 4 store users, 2 roles, 5 password changes,
-- 3 profile edits, 1 role rename, 4 user deletes, 3 revokes, 2 stores, 1 store edit,
-- 1 store delete, 1 tenant toggle.
CREATE OR REPLACE FUNCTION demo_workload.step(i integer) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  k integer := i % 40;
BEGIN
  IF k = 0 THEN PERFORM demo_workload.add_tenant(i); RETURN 'tenant';
  ELSIF k <= 12 THEN PERFORM demo_workload.add_user(i); RETURN 'user';
  ELSIF k <= 16 THEN PERFORM demo_workload.add_store_user(i); RETURN 'store_user';
  ELSIF k <= 18 THEN PERFORM demo_workload.add_role(i); RETURN 'role';
  ELSIF k <= 23 THEN PERFORM demo_workload.change_password(); RETURN 'password';
  ELSIF k <= 26 THEN PERFORM demo_workload.update_profiles(); RETURN 'profile';
  ELSIF k = 27 THEN PERFORM demo_workload.rename_role(i); RETURN 'rename_role';
  ELSIF k <= 31 THEN PERFORM demo_workload.delete_user(); RETURN 'delete_user';
  ELSIF k <= 34 THEN PERFORM demo_workload.revoke_role(); RETURN 'revoke';
  ELSIF k <= 36 THEN PERFORM demo_workload.add_store(i); RETURN 'store';
  ELSIF k = 37 THEN PERFORM demo_workload.edit_store(); RETURN 'edit_store';
  ELSIF k = 38 THEN PERFORM demo_workload.delete_store(); RETURN 'delete_store';
  ELSE PERFORM demo_workload.toggle_tenant(); RETURN 'toggle_tenant';
  END IF;
END $$;
