-- title: Security group opened to the whole internet
-- why: an ingress rule from 0.0.0.0/0 or ::/0 exposes whatever listens behind it (port 22,
--   3389, a database) to every address.
-- source: CIS AWS Foundations Benchmark, "Ensure no security groups allow ingress from
--   0.0.0.0/0 (and ::/0) to remote server administration ports"; AWS Security Hub controls
--   EC2.18 and EC2.19; Sigma aws_cloudtrail_security_group_change_ingress_egress.yml.
SELECT eventtime, useridentity.arn AS who, sourceipaddress AS source_ip, eventname,
       awsregion AS region, coalesce(recipientaccountid, _account) AS account,
       concat(coalesce(json_extract_scalar(requestparameters, '$.groupId'), '?'), ' ',
              coalesce(json_extract(requestparameters, '$.ipPermissions'), '')) AS detail,
       _log_key, _digest_key
FROM events
WHERE eventsource = 'ec2.amazonaws.com'
  AND eventname IN ('AuthorizeSecurityGroupIngress', 'ModifySecurityGroupRules')
  AND errorcode IS NULL
  AND (requestparameters LIKE '%0.0.0.0/0%' OR requestparameters LIKE '%::/0%')
