-- Staging-only data that WSO2's 4.1 -> 4.2 migration computes once and that rows written by
-- production during the window lack (production's 4.1.x schema has no such columns/tables):
-- the PRIMARY/SYSTEM/INTERNAL UM_DOMAIN rows of tenants created in the window, and
-- UM_DOMAIN_ID of their role permissions. Same rules as the migration; idempotent.
-- Run on staging after the sync has caught up (and again right before the switch).

\set ON_ERROR_STOP 1
BEGIN;
INSERT INTO um_domain (um_domain_name, um_tenant_id)
SELECT d, t.tid
FROM (SELECT -1234 AS tid UNION SELECT um_id FROM um_tenant) t,
     unnest(ARRAY['PRIMARY', 'SYSTEM', 'INTERNAL']) d
WHERE NOT EXISTS (SELECT 1 FROM um_domain x WHERE x.um_tenant_id = t.tid AND x.um_domain_name = d);

UPDATE um_role_permission rp SET um_domain_id = d.um_domain_id
FROM um_domain d
WHERE rp.um_domain_id IS NULL
  AND d.um_tenant_id = rp.um_tenant_id
  AND d.um_domain_name = CASE rp.um_role_name WHEN 'everyone' THEN 'INTERNAL'
                                              WHEN 'wso2.anonymous.role' THEN 'SYSTEM'
                                              ELSE 'PRIMARY' END;
COMMIT;
