-- title: The root user acting
-- why: the root user cannot be restricted by policy; AWS advises against using it for daily work.
-- source: Sigma aws_root_account_usage.yml (userIdentity.type Root, not an AwsServiceEvent);
--   AWS IAM user guide, "AWS account root user".
SELECT eventtime, useridentity.arn AS who, sourceipaddress AS source_ip, eventname,
       awsregion AS region, coalesce(recipientaccountid, _account) AS account,
       useridentity.invokedby AS detail, _log_key, _digest_key
FROM events
WHERE useridentity.type = 'Root'
  AND coalesce(eventtype, '') <> 'AwsServiceEvent'
