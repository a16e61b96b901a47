-- The MySQL counterpart of ../staging-domain-fixup.sql: staging-only data that WSO2's MySQL
-- 4.1 -> 4.2 migration computes once and that rows written by production during the window
-- lack (production's 4.1.x schema has no such columns/tables): the PRIMARY/SYSTEM/INTERNAL
-- UM_DOMAIN rows of tenants created in the window, and UM_DOMAIN_ID of their role
-- permissions. Same rules as the migration; idempotent.
-- Run on staging after the sync has caught up (and again right before the switch).
--
-- mariadb wso2carbon < staging-domain-fixup.sql

START TRANSACTION;
INSERT INTO UM_DOMAIN (UM_DOMAIN_NAME, UM_TENANT_ID)
SELECT d.name, t.tid
FROM (SELECT -1234 AS tid UNION SELECT UM_ID FROM UM_TENANT) t,
     (SELECT 'PRIMARY' AS name UNION ALL SELECT 'SYSTEM' UNION ALL SELECT 'INTERNAL') d
WHERE NOT EXISTS (SELECT 1 FROM UM_DOMAIN x WHERE x.UM_TENANT_ID = t.tid AND x.UM_DOMAIN_NAME = d.name);

UPDATE UM_ROLE_PERMISSION rp
JOIN UM_DOMAIN d
  ON d.UM_TENANT_ID = rp.UM_TENANT_ID
 AND d.UM_DOMAIN_NAME = CASE rp.UM_ROLE_NAME WHEN 'everyone' THEN 'INTERNAL'
                                             WHEN 'wso2.anonymous.role' THEN 'SYSTEM'
                                             ELSE 'PRIMARY' END
SET rp.UM_DOMAIN_ID = d.UM_DOMAIN_ID
WHERE rp.UM_DOMAIN_ID IS NULL;
COMMIT;
