-- Sample data for the MySQL demo's "production": the same WSO2 Carbon 4.1.x user store as
-- ../seed.sql, on the MySQL schema (../shared/fixtures/wso2/carbon-4.1.x/mysql.sql): the super
-- tenant (-1234) and @tenants tenants, each with roles, users, role assignments, permissions,
-- claims, an internal (hybrid) role set and secondary user stores (config kept in the
-- registry, users of those stores in UM_HYBRID_USER_ROLE as DOMAIN/name, as Carbon does).
-- Row sources are MariaDB's sequence tables (seq_0_to_99999) where PostgreSQL has
-- generate_series, and UNION ALL lists where it has unnest(ARRAY[...]).
--
-- { echo 'SET @tenants = 4, @users = 150;'; cat seed.sql; } | mariadb wso2carbon

START TRANSACTION;

INSERT INTO UM_TENANT (UM_DOMAIN_NAME, UM_EMAIL, UM_ACTIVE, UM_CREATED_DATE, UM_USER_CONFIG)
SELECT CONCAT('tenant', g.seq, '.example.com'), CONCAT('admin@tenant', g.seq, '.example.com'), TRUE,
       TIMESTAMP '2013-06-01 09:00:00' + INTERVAL g.seq DAY,
       '<UserManager><Realm><UserStoreManager class="org.wso2.carbon.user.core.jdbc.JDBCUserStoreManager"/></Realm></UserManager>'
FROM seq_1_to_99999 g WHERE g.seq <= @tenants ORDER BY g.seq;

CREATE TEMPORARY TABLE seed_tenant AS
SELECT -1234 AS tid UNION ALL SELECT UM_ID FROM UM_TENANT;

-- Roles (UM_ROLE) and internal roles (UM_HYBRID_ROLE).
INSERT INTO UM_ROLE (UM_ROLE_NAME, UM_TENANT_ID)
SELECT r.name, t.tid
FROM seed_tenant t,
     (SELECT 'admin' AS name UNION ALL SELECT 'developer' UNION ALL SELECT 'tester'
      UNION ALL SELECT 'auditor' UNION ALL SELECT 'subscriber') r;
INSERT INTO UM_HYBRID_ROLE (UM_ROLE_NAME, UM_TENANT_ID)
SELECT r.name, t.tid
FROM seed_tenant t,
     (SELECT 'everyone' AS name UNION ALL SELECT 'Application/console'
      UNION ALL SELECT 'Application/dss') r;

-- Permissions and their grants; role names 'everyone' and 'wso2.anonymous.role' are the ones
-- the 4.2.0 migration maps to the INTERNAL and SYSTEM domains.
INSERT INTO UM_PERMISSION (UM_RESOURCE_ID, UM_ACTION, UM_TENANT_ID)
SELECT p.res, 'ui.execute', t.tid
FROM seed_tenant t,
     (SELECT '/permission' AS res UNION ALL SELECT '/permission/admin'
      UNION ALL SELECT '/permission/admin/login' UNION ALL SELECT '/permission/admin/manage'
      UNION ALL SELECT '/permission/admin/configure' UNION ALL SELECT '/permission/admin/monitor'
      UNION ALL SELECT '/permission/protected') p;
INSERT INTO UM_ROLE_PERMISSION (UM_PERMISSION_ID, UM_ROLE_NAME, UM_IS_ALLOWED, UM_TENANT_ID)
SELECT p.UM_ID, g.role, 1, p.UM_TENANT_ID
FROM UM_PERMISSION p
JOIN (SELECT '/permission' AS res, 'admin' AS role
      UNION ALL SELECT '/permission/admin/login', 'everyone'
      UNION ALL SELECT '/permission/admin/login', 'developer'
      UNION ALL SELECT '/permission/admin/manage', 'developer'
      UNION ALL SELECT '/permission/admin/monitor', 'auditor'
      UNION ALL SELECT '/permission/admin/login', 'wso2.anonymous.role') g
  ON p.UM_RESOURCE_ID = g.res;
INSERT INTO UM_USER_PERMISSION (UM_PERMISSION_ID, UM_USER_NAME, UM_IS_ALLOWED, UM_TENANT_ID)
SELECT UM_ID, 'admin', 1, UM_TENANT_ID FROM UM_PERMISSION WHERE UM_RESOURCE_ID = '/permission/protected';

-- Users of the primary (JDBC) user store.
INSERT INTO UM_USER (UM_USER_NAME, UM_USER_PASSWORD, UM_SALT_VALUE, UM_REQUIRE_CHANGE,
                     UM_CHANGED_TIME, UM_TENANT_ID)
SELECT IF(g.seq = 0, 'admin', CONCAT('user', LPAD(g.seq, 4, '0'))),
       TO_BASE64(UNHEX(SHA2(CONCAT('pw', g.seq, '@', t.tid), 256))),
       SUBSTR(MD5(CONCAT(g.seq, t.tid)), 1, 12), g.seq % 17 = 0,
       TIMESTAMP '2013-07-01 00:00:00' + INTERVAL (CAST(g.seq AS SIGNED) * 37 + t.tid) MINUTE, t.tid
FROM seed_tenant t, seq_0_to_99999 g
WHERE g.seq < @users;

INSERT INTO UM_USER_ROLE (UM_ROLE_ID, UM_USER_ID, UM_TENANT_ID)
SELECT r.UM_ID, u.UM_ID, u.UM_TENANT_ID
FROM UM_USER u JOIN UM_ROLE r ON r.UM_TENANT_ID = u.UM_TENANT_ID
WHERE (u.UM_USER_NAME = 'admin' AND r.UM_ROLE_NAME = 'admin')
   OR (u.UM_USER_NAME <> 'admin' AND r.UM_ROLE_NAME = ELT(1 + u.UM_ID % 4, 'developer', 'tester', 'auditor', 'subscriber'))
   OR (u.UM_USER_NAME <> 'admin' AND u.UM_ID % 5 = 0 AND r.UM_ROLE_NAME = 'subscriber');

INSERT INTO UM_USER_ATTRIBUTE (UM_ATTR_NAME, UM_ATTR_VALUE, UM_PROFILE_ID, UM_USER_ID, UM_TENANT_ID)
SELECT a.name,
       CASE a.name WHEN 'mail' THEN CONCAT(u.UM_USER_NAME, '@example.com')
                   WHEN 'givenName' THEN CONCAT(UPPER(LEFT(u.UM_USER_NAME, 1)), SUBSTR(u.UM_USER_NAME, 2))
                   ELSE CONCAT('Org ', u.UM_ID % 7) END,
       'default', u.UM_ID, u.UM_TENANT_ID
FROM UM_USER u,
     (SELECT 'mail' AS name UNION ALL SELECT 'givenName' UNION ALL SELECT 'organizationName') a;

-- Claims (one dialect, a profile, behaviours).
INSERT INTO UM_DIALECT (UM_DIALECT_URI, UM_TENANT_ID)
SELECT 'http://wso2.org/claims', tid FROM seed_tenant;
INSERT INTO UM_CLAIM (UM_DIALECT_ID, UM_CLAIM_URI, UM_DISPLAY_TAG, UM_DESCRIPTION,
                      UM_MAPPED_ATTRIBUTE, UM_SUPPORTED, UM_REQUIRED, UM_DISPLAY_ORDER, UM_TENANT_ID)
SELECT d.UM_ID, CONCAT('http://wso2.org/claims/', c.attr), CONCAT(UPPER(LEFT(c.attr, 1)), SUBSTR(c.attr, 2)),
       CONCAT(c.attr, ' of the user'), c.attr, 1, c.req, c.ord, d.UM_TENANT_ID
FROM UM_DIALECT d,
     (SELECT 'emailaddress' AS attr, 1 AS req, 1 AS ord UNION ALL SELECT 'givenname', 1, 2
      UNION ALL SELECT 'lastname', 1, 3 UNION ALL SELECT 'organization', 0, 4
      UNION ALL SELECT 'telephone', 0, 5) c;
INSERT INTO UM_PROFILE_CONFIG (UM_DIALECT_ID, UM_PROFILE_NAME, UM_TENANT_ID)
SELECT UM_ID, 'default', UM_TENANT_ID FROM UM_DIALECT;
INSERT INTO UM_CLAIM_BEHAVIOR (UM_PROFILE_ID, UM_CLAIM_ID, UM_BEHAVIOUR, UM_TENANT_ID)
SELECT p.UM_ID, c.UM_ID, 1, c.UM_TENANT_ID
FROM UM_PROFILE_CONFIG p JOIN UM_CLAIM c ON c.UM_TENANT_ID = p.UM_TENANT_ID;

-- Secondary user stores: STORE1/STORE2 config as registry resources (REG_PATH, REG_CONTENT,
-- REG_RESOURCE, REG_PROPERTY); their users hold internal roles via UM_HYBRID_USER_ROLE.
INSERT INTO REG_PATH (REG_PATH_VALUE, REG_PATH_PARENT_ID, REG_TENANT_ID)
SELECT '/', NULL, tid FROM seed_tenant;
INSERT INTO REG_PATH (REG_PATH_VALUE, REG_PATH_PARENT_ID, REG_TENANT_ID)
SELECT '/_system/config/userstores', p.REG_PATH_ID, p.REG_TENANT_ID
FROM REG_PATH p WHERE p.REG_PATH_VALUE = '/';
INSERT INTO REG_CONTENT (REG_CONTENT_DATA, REG_TENANT_ID)
SELECT CONCAT('<UserStoreManager class="org.wso2.carbon.user.core.jdbc.JDBCUserStoreManager">',
              '<Property name="DomainName">', s.name, '</Property>',
              '<Property name="url">jdbc:mysql://db/', LOWER(s.name), '_', t.tid, '</Property>',
              '</UserStoreManager>'), t.tid
FROM seed_tenant t, (SELECT 'STORE1' AS name UNION ALL SELECT 'STORE2') s;
INSERT INTO REG_RESOURCE (REG_PATH_ID, REG_NAME, REG_MEDIA_TYPE, REG_CREATOR, REG_CREATED_TIME,
                          REG_LAST_UPDATOR, REG_LAST_UPDATED_TIME, REG_DESCRIPTION,
                          REG_CONTENT_ID, REG_TENANT_ID, REG_UUID)
SELECT p.REG_PATH_ID,
       CONCAT(SUBSTRING_INDEX(SUBSTRING_INDEX(CAST(c.REG_CONTENT_DATA AS CHAR), 'DomainName">', -1), '<', 1), '.xml'),
       'application/xml', 'admin', TIMESTAMP '2013-08-01 00:00:00', 'admin', TIMESTAMP '2013-08-01 00:00:00',
       'secondary user store', c.REG_CONTENT_ID, c.REG_TENANT_ID, MD5(CONCAT(c.REG_CONTENT_ID, c.REG_TENANT_ID))
FROM REG_CONTENT c JOIN REG_PATH p
  ON p.REG_TENANT_ID = c.REG_TENANT_ID AND p.REG_PATH_VALUE = '/_system/config/userstores';
INSERT INTO REG_PROPERTY (REG_NAME, REG_VALUE, REG_TENANT_ID)
SELECT 'enabled', 'true', REG_TENANT_ID FROM REG_RESOURCE;
INSERT INTO REG_RESOURCE_PROPERTY (REG_PROPERTY_ID, REG_VERSION, REG_PATH_ID, REG_RESOURCE_NAME, REG_TENANT_ID)
SELECT p.REG_ID, r.REG_VERSION, r.REG_PATH_ID, r.REG_NAME, r.REG_TENANT_ID
FROM REG_RESOURCE r JOIN REG_PROPERTY p ON p.REG_TENANT_ID = r.REG_TENANT_ID
WHERE p.REG_ID = (SELECT MIN(REG_ID) FROM REG_PROPERTY q WHERE q.REG_TENANT_ID = r.REG_TENANT_ID)
  AND r.REG_NAME = 'STORE1.xml';

INSERT INTO UM_HYBRID_USER_ROLE (UM_USER_NAME, UM_ROLE_ID, UM_TENANT_ID)
SELECT CONCAT(s.name, '/ext', LPAD(g.seq, 3, '0')), h.UM_ID, h.UM_TENANT_ID
FROM UM_HYBRID_ROLE h, (SELECT 'STORE1' AS name UNION ALL SELECT 'STORE2') s, seq_1_to_20 g
WHERE h.UM_ROLE_NAME = 'everyone';
INSERT INTO UM_HYBRID_USER_ROLE (UM_USER_NAME, UM_ROLE_ID, UM_TENANT_ID)
SELECT u.UM_USER_NAME, h.UM_ID, h.UM_TENANT_ID
FROM UM_USER u JOIN UM_HYBRID_ROLE h ON h.UM_TENANT_ID = u.UM_TENANT_ID
WHERE h.UM_ROLE_NAME = 'everyone';

INSERT INTO UM_HYBRID_REMEMBER_ME (UM_USER_NAME, UM_COOKIE_VALUE, UM_CREATED_TIME, UM_TENANT_ID)
SELECT 'admin', MD5(CONCAT('cookie', tid)), TIMESTAMP '2013-09-01 00:00:00', tid FROM seed_tenant;

INSERT INTO REG_LOG (REG_PATH, REG_USER_ID, REG_LOGGED_TIME, REG_ACTION, REG_ACTION_DATA, REG_TENANT_ID)
SELECT CONCAT('/_system/config/userstores/', REG_NAME), 'admin', REG_CREATED_TIME, 1, NULL, REG_TENANT_ID
FROM REG_RESOURCE;

DROP TEMPORARY TABLE seed_tenant;
COMMIT;
