-- Sample data for the demo's "production": a WSO2 Carbon 4.1.x user store (PostgreSQL schema
-- from ../shared/fixtures/wso2/carbon-4.1.x/postgresql.sql) with the super tenant (-1234) and
-- :tenants tenants, each with roles, users, role assignments, permissions, claims, an internal
-- (hybrid) role set and secondary user stores (config kept in the registry, users of those
-- stores in UM_HYBRID_USER_ROLE as DOMAIN/name, as Carbon does).
--
-- psql -v tenants=4 -v users=150 -f seed.sql

\set ON_ERROR_STOP 1
BEGIN;

INSERT INTO um_tenant (um_domain_name, um_email, um_active, um_created_date, um_user_config)
SELECT 'tenant' || g || '.example.com', 'admin@tenant' || g || '.example.com', true,
       timestamp '2013-06-01 09:00' + g * interval '1 day',
       convert_to('<UserManager><Realm><UserStoreManager class="org.wso2.carbon.user.core.jdbc.JDBCUserStoreManager"/></Realm></UserManager>', 'UTF8')
FROM generate_series(1, :tenants) g;

CREATE TEMP TABLE seed_tenant AS
SELECT -1234 AS tid UNION ALL SELECT um_id FROM um_tenant;

-- Roles (UM_ROLE) and internal roles (UM_HYBRID_ROLE).
INSERT INTO um_role (um_role_name, um_tenant_id)
SELECT r, tid FROM seed_tenant, unnest(ARRAY['admin', 'developer', 'tester', 'auditor', 'subscriber']) r;
INSERT INTO um_hybrid_role (um_role_name, um_tenant_id)
SELECT r, tid FROM seed_tenant, unnest(ARRAY['everyone', 'Application/console', 'Application/dss']) r;

-- Permissions and their grants; role names 'everyone' and 'wso2.anonymous.role' are the ones
-- the 4.2.0 migration maps to the INTERNAL and SYSTEM domains.
INSERT INTO um_permission (um_resource_id, um_action, um_tenant_id)
SELECT p, 'ui.execute', tid FROM seed_tenant,
       unnest(ARRAY['/permission', '/permission/admin', '/permission/admin/login',
                    '/permission/admin/manage', '/permission/admin/configure',
                    '/permission/admin/monitor', '/permission/protected']) p;
INSERT INTO um_role_permission (um_permission_id, um_role_name, um_is_allowed, um_tenant_id)
SELECT p.um_id, g.role, 1, p.um_tenant_id
FROM um_permission p
JOIN (VALUES ('/permission', 'admin'),
             ('/permission/admin/login', 'everyone'),
             ('/permission/admin/login', 'developer'),
             ('/permission/admin/manage', 'developer'),
             ('/permission/admin/monitor', 'auditor'),
             ('/permission/admin/login', 'wso2.anonymous.role')) g(res, role)
  ON p.um_resource_id = g.res;
INSERT INTO um_user_permission (um_permission_id, um_user_name, um_is_allowed, um_tenant_id)
SELECT um_id, 'admin', 1, um_tenant_id FROM um_permission WHERE um_resource_id = '/permission/protected';

-- Users of the primary (JDBC) user store.
INSERT INTO um_user (um_user_name, um_user_password, um_salt_value, um_require_change,
                     um_changed_time, um_tenant_id)
SELECT CASE WHEN g = 0 THEN 'admin' ELSE 'user' || lpad(g::text, 4, '0') END,
       encode(sha256(convert_to('pw' || g || '@' || tid, 'UTF8')), 'base64'),
       substr(md5(g::text || tid::text), 1, 12), g % 17 = 0,
       timestamp '2013-07-01' + (g * 37 + tid) * interval '1 minute', tid
FROM seed_tenant, generate_series(0, :users - 1) g;

INSERT INTO um_user_role (um_role_id, um_user_id, um_tenant_id)
SELECT r.um_id, u.um_id, u.um_tenant_id
FROM um_user u JOIN um_role r ON r.um_tenant_id = u.um_tenant_id
WHERE (u.um_user_name = 'admin' AND r.um_role_name = 'admin')
   OR (u.um_user_name <> 'admin' AND r.um_role_name = (ARRAY['developer', 'tester', 'auditor', 'subscriber'])[1 + u.um_id % 4])
   OR (u.um_user_name <> 'admin' AND u.um_id % 5 = 0 AND r.um_role_name = 'subscriber');

INSERT INTO um_user_attribute (um_attr_name, um_attr_value, um_profile_id, um_user_id, um_tenant_id)
SELECT a.name,
       CASE a.name WHEN 'mail' THEN u.um_user_name || '@example.com'
                   WHEN 'givenName' THEN initcap(u.um_user_name)
                   ELSE 'Org ' || (u.um_id % 7) END,
       'default', u.um_id, u.um_tenant_id
FROM um_user u, (VALUES ('mail'), ('givenName'), ('organizationName')) a(name);

-- Claims (one dialect, a profile, behaviours).
INSERT INTO um_dialect (um_dialect_uri, um_tenant_id)
SELECT 'http://wso2.org/claims', tid FROM seed_tenant;
INSERT INTO um_claim (um_dialect_id, um_claim_uri, um_display_tag, um_description,
                      um_mapped_attribute, um_supported, um_required, um_display_order, um_tenant_id)
SELECT d.um_id, 'http://wso2.org/claims/' || c.attr, initcap(c.attr), c.attr || ' of the user',
       c.attr, 1, c.req, c.ord, d.um_tenant_id
FROM um_dialect d,
     (VALUES ('emailaddress', 1, 1), ('givenname', 1, 2), ('lastname', 1, 3),
             ('organization', 0, 4), ('telephone', 0, 5)) c(attr, req, ord);
INSERT INTO um_profile_config (um_dialect_id, um_profile_name, um_tenant_id)
SELECT um_id, 'default', um_tenant_id FROM um_dialect;
INSERT INTO um_claim_behavior (um_profile_id, um_claim_id, um_behaviour, um_tenant_id)
SELECT p.um_id, c.um_id, 1, c.um_tenant_id
FROM um_profile_config p JOIN um_claim c ON c.um_tenant_id = p.um_tenant_id;

-- Secondary user stores: STORE1/STORE2 config as registry resources (REG_PATH, REG_CONTENT,
-- REG_RESOURCE, REG_PROPERTY); their users hold internal roles via UM_HYBRID_USER_ROLE.
INSERT INTO reg_path (reg_path_value, reg_path_parent_id, reg_tenant_id)
SELECT '/', NULL, tid FROM seed_tenant;
INSERT INTO reg_path (reg_path_value, reg_path_parent_id, reg_tenant_id)
SELECT '/_system/config/userstores', p.reg_path_id, p.reg_tenant_id
FROM reg_path p WHERE p.reg_path_value = '/';
INSERT INTO reg_content (reg_content_data, reg_tenant_id)
SELECT convert_to('<UserStoreManager class="org.wso2.carbon.user.core.jdbc.JDBCUserStoreManager">'
                  || '<Property name="DomainName">' || s || '</Property>'
                  || '<Property name="url">jdbc:postgresql://db/' || lower(s) || '_' || tid || '</Property>'
                  || '</UserStoreManager>', 'UTF8'), tid
FROM seed_tenant, unnest(ARRAY['STORE1', 'STORE2']) s;
INSERT INTO reg_resource (reg_path_id, reg_name, reg_media_type, reg_creator, reg_created_time,
                          reg_last_updator, reg_last_updated_time, reg_description,
                          reg_content_id, reg_tenant_id, reg_uuid)
SELECT p.reg_path_id,
       substring(convert_from(c.reg_content_data, 'UTF8') from 'DomainName">([A-Z0-9]+)<') || '.xml',
       'application/xml', 'admin', timestamp '2013-08-01', 'admin', timestamp '2013-08-01',
       'secondary user store', c.reg_content_id, c.reg_tenant_id, md5(c.reg_content_id::text || c.reg_tenant_id)
FROM reg_content c JOIN reg_path p
  ON p.reg_tenant_id = c.reg_tenant_id AND p.reg_path_value = '/_system/config/userstores';
INSERT INTO reg_property (reg_name, reg_value, reg_tenant_id)
SELECT 'enabled', 'true', reg_tenant_id FROM reg_resource;
INSERT INTO reg_resource_property (reg_property_id, reg_version, reg_path_id, reg_resource_name, reg_tenant_id)
SELECT p.reg_id, r.reg_version, r.reg_path_id, r.reg_name, r.reg_tenant_id
FROM reg_resource r JOIN reg_property p ON p.reg_tenant_id = r.reg_tenant_id
WHERE p.reg_id = (SELECT min(reg_id) FROM reg_property q WHERE q.reg_tenant_id = r.reg_tenant_id)
  AND r.reg_name = 'STORE1.xml';

INSERT INTO um_hybrid_user_role (um_user_name, um_role_id, um_tenant_id)
SELECT s || '/ext' || lpad(g::text, 3, '0'), h.um_id, h.um_tenant_id
FROM um_hybrid_role h, unnest(ARRAY['STORE1', 'STORE2']) s, generate_series(1, 20) g
WHERE h.um_role_name = 'everyone';
INSERT INTO um_hybrid_user_role (um_user_name, um_role_id, um_tenant_id)
SELECT u.um_user_name, h.um_id, h.um_tenant_id
FROM um_user u JOIN um_hybrid_role h ON h.um_tenant_id = u.um_tenant_id
WHERE h.um_role_name = 'everyone';

INSERT INTO um_hybrid_remember_me (um_user_name, um_cookie_value, um_created_time, um_tenant_id)
SELECT 'admin', md5('cookie' || tid), timestamp '2013-09-01', tid FROM seed_tenant;

INSERT INTO reg_log (reg_path, reg_user_id, reg_logged_time, reg_action, reg_action_data, reg_tenant_id)
SELECT '/_system/config/userstores/' || reg_name, 'admin', reg_created_time, 1, NULL, reg_tenant_id
FROM reg_resource;

COMMIT;
