-- The MySQL demo's production workload on the WSO2 Carbon 4.1.x user store: the same mix as
-- ../workload.sql, as MariaDB stored procedures. `CALL demo_workload.step(i)` runs one
-- transaction of one kind (chosen from i) and returns its name as a one-row result: new
-- tenants with their roles, permissions and user stores, new users with attributes and role
-- assignments, password changes, role renames, user-store config edits, and deletes of users,
-- assignments and user stores.
-- The routines live in database demo_workload (no tables; not replicated, not copied to
-- staging) and write the tables of database wso2carbon.
--
-- mariadb < workload.sql

CREATE DATABASE IF NOT EXISTS demo_workload;
USE demo_workload;

DELIMITER //

CREATE OR REPLACE FUNCTION any_tenant() RETURNS INT NOT DETERMINISTIC READS SQL DATA
  RETURN (SELECT tid FROM (SELECT -1234 AS tid UNION ALL SELECT UM_ID FROM wso2carbon.UM_TENANT) t
          ORDER BY RAND() LIMIT 1)
//

-- A tenant as Carbon provisions it: tenant row, admin user and role, internal roles,
-- permissions with grants, claim dialect and a secondary user store.
CREATE OR REPLACE PROCEDURE add_tenant(i INT)
BEGIN
  DECLARE t, admin_role, admin_user, everyone, root_path, store_path, content INT;
  INSERT INTO wso2carbon.UM_TENANT (UM_DOMAIN_NAME, UM_EMAIL, UM_ACTIVE, UM_CREATED_DATE, UM_USER_CONFIG)
  VALUES (CONCAT('window', i, '.example.org'), CONCAT('admin@window', i, '.example.org'), TRUE, NOW(),
          '<UserManager/>');
  SET t = LAST_INSERT_ID();
  INSERT INTO wso2carbon.UM_ROLE (UM_ROLE_NAME, UM_TENANT_ID) VALUES ('admin', t);
  SET admin_role = LAST_INSERT_ID();
  INSERT INTO wso2carbon.UM_ROLE (UM_ROLE_NAME, UM_TENANT_ID) VALUES ('developer', t), ('subscriber', t);
  INSERT INTO wso2carbon.UM_HYBRID_ROLE (UM_ROLE_NAME, UM_TENANT_ID) VALUES ('everyone', t);
  SET everyone = LAST_INSERT_ID();
  INSERT INTO wso2carbon.UM_USER (UM_USER_NAME, UM_USER_PASSWORD, UM_SALT_VALUE, UM_CHANGED_TIME, UM_TENANT_ID)
  VALUES ('admin', MD5(CONCAT('admin', i)), SUBSTR(MD5(i), 1, 12), NOW(), t);
  SET admin_user = LAST_INSERT_ID();
  INSERT INTO wso2carbon.UM_USER_ROLE (UM_ROLE_ID, UM_USER_ID, UM_TENANT_ID) VALUES (admin_role, admin_user, t);
  INSERT INTO wso2carbon.UM_HYBRID_USER_ROLE (UM_USER_NAME, UM_ROLE_ID, UM_TENANT_ID) VALUES ('admin', everyone, t);
  INSERT INTO wso2carbon.UM_PERMISSION (UM_RESOURCE_ID, UM_ACTION, UM_TENANT_ID)
  VALUES ('/permission', 'ui.execute', t), ('/permission/admin/login', 'ui.execute', t);
  INSERT INTO wso2carbon.UM_ROLE_PERMISSION (UM_PERMISSION_ID, UM_ROLE_NAME, UM_IS_ALLOWED, UM_TENANT_ID)
  SELECT UM_ID, IF(UM_RESOURCE_ID = '/permission', 'admin', 'everyone'), 1, t
  FROM wso2carbon.UM_PERMISSION WHERE UM_TENANT_ID = t;
  INSERT INTO wso2carbon.UM_DIALECT (UM_DIALECT_URI, UM_TENANT_ID) VALUES ('http://wso2.org/claims', t);
  INSERT INTO wso2carbon.UM_CLAIM (UM_DIALECT_ID, UM_CLAIM_URI, UM_MAPPED_ATTRIBUTE, UM_SUPPORTED, UM_TENANT_ID)
  SELECT UM_ID, 'http://wso2.org/claims/emailaddress', 'mail', 1, t FROM wso2carbon.UM_DIALECT WHERE UM_TENANT_ID = t;
  INSERT INTO wso2carbon.REG_PATH (REG_PATH_VALUE, REG_PATH_PARENT_ID, REG_TENANT_ID) VALUES ('/', NULL, t);
  SET root_path = LAST_INSERT_ID();
  INSERT INTO wso2carbon.REG_PATH (REG_PATH_VALUE, REG_PATH_PARENT_ID, REG_TENANT_ID)
  VALUES ('/_system/config/userstores', root_path, t);
  SET store_path = LAST_INSERT_ID();
  INSERT INTO wso2carbon.REG_CONTENT (REG_CONTENT_DATA, REG_TENANT_ID)
  VALUES ('<UserStoreManager><Property name="DomainName">STORE1</Property></UserStoreManager>', t);
  SET content = LAST_INSERT_ID();
  INSERT INTO wso2carbon.REG_RESOURCE (REG_PATH_ID, REG_NAME, REG_MEDIA_TYPE, REG_CREATOR, REG_CREATED_TIME,
                                       REG_LAST_UPDATOR, REG_LAST_UPDATED_TIME, REG_CONTENT_ID, REG_TENANT_ID, REG_UUID)
  VALUES (store_path, 'STORE1.xml', 'application/xml', 'admin', NOW(), 'admin', NOW(), content, t, MD5(RAND()));
END //

CREATE OR REPLACE PROCEDURE add_user(i INT)
BEGIN
  DECLARE t INT DEFAULT any_tenant();
  DECLARE u INT;
  DECLARE nroles INT DEFAULT 1 + i % 2;
  INSERT INTO wso2carbon.UM_USER (UM_USER_NAME, UM_USER_PASSWORD, UM_SALT_VALUE, UM_REQUIRE_CHANGE,
                                  UM_CHANGED_TIME, UM_TENANT_ID)
  VALUES (CONCAT('w', i), TO_BASE64(UNHEX(SHA2(CONCAT('pw', i), 256))), SUBSTR(MD5(RAND()), 1, 12),
          i % 3 = 0, NOW(), t);
  SET u = LAST_INSERT_ID();
  INSERT INTO wso2carbon.UM_USER_ATTRIBUTE (UM_ATTR_NAME, UM_ATTR_VALUE, UM_PROFILE_ID, UM_USER_ID, UM_TENANT_ID)
  VALUES ('mail', CONCAT('w', i, '@example.com'), 'default', u, t), ('givenName', CONCAT('W', i), 'default', u, t);
  INSERT INTO wso2carbon.UM_USER_ROLE (UM_ROLE_ID, UM_USER_ID, UM_TENANT_ID)
  SELECT UM_ID, u, t FROM wso2carbon.UM_ROLE WHERE UM_TENANT_ID = t AND UM_ROLE_NAME <> 'admin'
  ORDER BY RAND() LIMIT nroles;
  INSERT INTO wso2carbon.UM_HYBRID_USER_ROLE (UM_USER_NAME, UM_ROLE_ID, UM_TENANT_ID)
  SELECT CONCAT('w', i), UM_ID, t FROM wso2carbon.UM_HYBRID_ROLE WHERE UM_TENANT_ID = t AND UM_ROLE_NAME = 'everyone';
END //

CREATE OR REPLACE PROCEDURE add_store_user(i INT)
BEGIN
  INSERT INTO wso2carbon.UM_HYBRID_USER_ROLE (UM_USER_NAME, UM_ROLE_ID, UM_TENANT_ID)
  SELECT CONCAT(ELT(1 + i % 2, 'STORE1', 'STORE2'), '/w', i), UM_ID, UM_TENANT_ID
  FROM wso2carbon.UM_HYBRID_ROLE WHERE UM_ROLE_NAME = 'everyone' ORDER BY RAND() LIMIT 1;
END //

CREATE OR REPLACE PROCEDURE add_role(i INT)
BEGIN
  DECLARE t INT DEFAULT any_tenant();
  DECLARE r INT;
  INSERT INTO wso2carbon.UM_ROLE (UM_ROLE_NAME, UM_TENANT_ID) VALUES (CONCAT('role', i), t);
  SET r = LAST_INSERT_ID();
  INSERT INTO wso2carbon.UM_PERMISSION (UM_RESOURCE_ID, UM_ACTION, UM_TENANT_ID)
  VALUES (CONCAT('/permission/applications/app', i), 'ui.execute', t);
  INSERT INTO wso2carbon.UM_ROLE_PERMISSION (UM_PERMISSION_ID, UM_ROLE_NAME, UM_IS_ALLOWED, UM_TENANT_ID)
  VALUES (LAST_INSERT_ID(), CONCAT('role', i), 1, t);
  INSERT INTO wso2carbon.UM_USER_ROLE (UM_ROLE_ID, UM_USER_ID, UM_TENANT_ID)
  SELECT r, UM_ID, t FROM wso2carbon.UM_USER WHERE UM_TENANT_ID = t ORDER BY RAND() LIMIT 3;
END //

-- The random picks are joined as derived tables: MariaDB takes no LIMIT in an IN subquery.
CREATE OR REPLACE PROCEDURE change_password()
BEGIN
  UPDATE wso2carbon.UM_USER u
  JOIN (SELECT UM_ID, UM_TENANT_ID FROM wso2carbon.UM_USER ORDER BY RAND() LIMIT 5) pick
    USING (UM_ID, UM_TENANT_ID)
  SET u.UM_USER_PASSWORD = MD5(RAND()), u.UM_SALT_VALUE = SUBSTR(MD5(RAND()), 1, 12),
      u.UM_REQUIRE_CHANGE = NOT u.UM_REQUIRE_CHANGE, u.UM_CHANGED_TIME = NOW();
END //

CREATE OR REPLACE PROCEDURE update_profiles()
BEGIN
  UPDATE wso2carbon.UM_USER_ATTRIBUTE a
  JOIN (SELECT UM_ID, UM_TENANT_ID FROM wso2carbon.UM_USER_ATTRIBUTE
        WHERE UM_ATTR_NAME = 'organizationName' ORDER BY RAND() LIMIT 10) pick
    USING (UM_ID, UM_TENANT_ID)
  SET a.UM_ATTR_VALUE = CONCAT(a.UM_ATTR_VALUE, '.');
END //

-- Renaming a role also renames its grants (UM_ROLE_PERMISSION refers to roles by name).
CREATE OR REPLACE PROCEDURE rename_role(i INT)
BEGIN
  DECLARE r_id, r_tenant INT;
  DECLARE r_name VARCHAR(255);
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET r_id = NULL;
  SELECT UM_ID, UM_TENANT_ID, UM_ROLE_NAME INTO r_id, r_tenant, r_name FROM wso2carbon.UM_ROLE
  WHERE UM_ROLE_NAME LIKE 'role%' ORDER BY RAND() LIMIT 1;
  IF r_id IS NOT NULL THEN
    UPDATE wso2carbon.UM_ROLE SET UM_ROLE_NAME = CONCAT('renamed', i) WHERE UM_ID = r_id AND UM_TENANT_ID = r_tenant;
    UPDATE wso2carbon.UM_ROLE_PERMISSION SET UM_ROLE_NAME = CONCAT('renamed', i)
    WHERE UM_ROLE_NAME = r_name AND UM_TENANT_ID = r_tenant;
  END IF;
END //

CREATE OR REPLACE PROCEDURE delete_user()
BEGIN
  DECLARE u_id, u_tenant INT;
  DECLARE u_name VARCHAR(255);
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET u_id = NULL;
  SELECT UM_ID, UM_TENANT_ID, UM_USER_NAME INTO u_id, u_tenant, u_name FROM wso2carbon.UM_USER
  WHERE UM_USER_NAME <> 'admin' ORDER BY RAND() LIMIT 1;
  IF u_id IS NOT NULL THEN
    DELETE FROM wso2carbon.UM_USER_ATTRIBUTE WHERE UM_USER_ID = u_id AND UM_TENANT_ID = u_tenant;
    DELETE FROM wso2carbon.UM_USER_ROLE WHERE UM_USER_ID = u_id AND UM_TENANT_ID = u_tenant;
    DELETE FROM wso2carbon.UM_HYBRID_USER_ROLE WHERE UM_USER_NAME = u_name AND UM_TENANT_ID = u_tenant;
    DELETE FROM wso2carbon.UM_USER_PERMISSION WHERE UM_USER_NAME = u_name AND UM_TENANT_ID = u_tenant;
    DELETE FROM wso2carbon.UM_USER WHERE UM_ID = u_id AND UM_TENANT_ID = u_tenant;
  END IF;
END //

CREATE OR REPLACE PROCEDURE revoke_role()
BEGIN
  DELETE ur FROM wso2carbon.UM_USER_ROLE ur
  JOIN (SELECT UM_ID, UM_TENANT_ID FROM wso2carbon.UM_USER_ROLE ORDER BY RAND() LIMIT 2) pick
    USING (UM_ID, UM_TENANT_ID);
END //

-- A new secondary user store for a tenant (registry resource + content), or an edit of one.
CREATE OR REPLACE PROCEDURE add_store(i INT)
BEGIN
  DECLARE p_id, p_tenant, content INT;
  SELECT REG_PATH_ID, REG_TENANT_ID INTO p_id, p_tenant FROM wso2carbon.REG_PATH
  WHERE REG_PATH_VALUE = '/_system/config/userstores' ORDER BY RAND() LIMIT 1;
  INSERT INTO wso2carbon.REG_CONTENT (REG_CONTENT_DATA, REG_TENANT_ID)
  VALUES (CONCAT('<UserStoreManager><Property name="DomainName">WSTORE', i, '</Property></UserStoreManager>'),
          p_tenant);
  SET content = LAST_INSERT_ID();
  INSERT INTO wso2carbon.REG_RESOURCE (REG_PATH_ID, REG_NAME, REG_MEDIA_TYPE, REG_CREATOR, REG_CREATED_TIME,
                                       REG_LAST_UPDATOR, REG_LAST_UPDATED_TIME, REG_CONTENT_ID, REG_TENANT_ID, REG_UUID)
  VALUES (p_id, CONCAT('WSTORE', i, '.xml'), 'application/xml', 'admin', NOW(), 'admin', NOW(),
          content, p_tenant, MD5(RAND()));
  INSERT INTO wso2carbon.REG_LOG (REG_PATH, REG_USER_ID, REG_LOGGED_TIME, REG_ACTION, REG_TENANT_ID)
  VALUES (CONCAT('/_system/config/userstores/WSTORE', i, '.xml'), 'admin', NOW(), 1, p_tenant);
END //

CREATE OR REPLACE PROCEDURE edit_store()
BEGIN
  UPDATE wso2carbon.REG_CONTENT c
  JOIN (SELECT REG_CONTENT_ID, REG_TENANT_ID FROM wso2carbon.REG_CONTENT ORDER BY RAND() LIMIT 1) pick
    USING (REG_CONTENT_ID, REG_TENANT_ID)
  SET c.REG_CONTENT_DATA = CONCAT(c.REG_CONTENT_DATA, '<!-- edited -->');
  UPDATE wso2carbon.REG_RESOURCE r
  JOIN (SELECT REG_VERSION, REG_TENANT_ID FROM wso2carbon.REG_RESOURCE ORDER BY RAND() LIMIT 1) pick
    USING (REG_VERSION, REG_TENANT_ID)
  SET r.REG_LAST_UPDATED_TIME = NOW(), r.REG_LAST_UPDATOR = 'admin';
END //

CREATE OR REPLACE PROCEDURE delete_store()
BEGIN
  DECLARE r_version, r_tenant, r_content INT;
  DECLARE CONTINUE HANDLER FOR NOT FOUND SET r_version = NULL;
  SELECT REG_VERSION, REG_TENANT_ID, REG_CONTENT_ID INTO r_version, r_tenant, r_content
  FROM wso2carbon.REG_RESOURCE WHERE REG_NAME LIKE 'WSTORE%' ORDER BY RAND() LIMIT 1;
  IF r_version IS NOT NULL THEN
    DELETE FROM wso2carbon.REG_RESOURCE WHERE REG_VERSION = r_version AND REG_TENANT_ID = r_tenant;
    DELETE FROM wso2carbon.REG_CONTENT WHERE REG_CONTENT_ID = r_content AND REG_TENANT_ID = r_tenant;
  END IF;
END //

CREATE OR REPLACE PROCEDURE toggle_tenant()
BEGIN
  UPDATE wso2carbon.UM_TENANT t
  JOIN (SELECT UM_ID FROM wso2carbon.UM_TENANT ORDER BY RAND() LIMIT 1) pick USING (UM_ID)
  SET t.UM_ACTIVE = NOT t.UM_ACTIVE, t.UM_EMAIL = CONCAT('ops+', t.UM_ID, '@example.com');
END //

-- One transaction of the workload; the kind is chosen by i so a run is a fixed mix:
-- per 40 steps: 1 tenant, 12 users, 4 store users, 2 roles, 5 password changes,
-- 3 profile edits, 1 role rename, 4 user deletes, 3 revokes, 2 stores, 1 store edit,
-- 1 store delete, 1 tenant toggle. The kind comes back as a one-row result.
CREATE OR REPLACE PROCEDURE step(i INT)
BEGIN
  DECLARE k INT DEFAULT i % 40;
  DECLARE kind VARCHAR(20);
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;
  START TRANSACTION;
  IF k = 0 THEN CALL add_tenant(i); SET kind = 'tenant';
  ELSEIF k <= 12 THEN CALL add_user(i); SET kind = 'user';
  ELSEIF k <= 16 THEN CALL add_store_user(i); SET kind = 'store_user';
  ELSEIF k <= 18 THEN CALL add_role(i); SET kind = 'role';
  ELSEIF k <= 23 THEN CALL change_password(); SET kind = 'password';
  ELSEIF k <= 26 THEN CALL update_profiles(); SET kind = 'profile';
  ELSEIF k = 27 THEN CALL rename_role(i); SET kind = 'rename_role';
  ELSEIF k <= 31 THEN CALL delete_user(); SET kind = 'delete_user';
  ELSEIF k <= 34 THEN CALL revoke_role(); SET kind = 'revoke';
  ELSEIF k <= 36 THEN CALL add_store(i); SET kind = 'store';
  ELSEIF k = 37 THEN CALL edit_store(); SET kind = 'edit_store';
  ELSEIF k = 38 THEN CALL delete_store(); SET kind = 'delete_store';
  ELSE CALL toggle_tenant(); SET kind = 'toggle_tenant';
  END IF;
  COMMIT;
  SELECT kind;
END //

DELIMITER ;
