-- title: KMS key scheduled for deletion or disabled
-- why: data encrypted under a deleted key is gone for good (a ransom or destruction step).
-- source: AWS KMS developer guide, "Deleting AWS KMS keys" (ScheduleKeyDeletion, DisableKey);
--   CIS AWS Foundations Benchmark monitoring of customer-managed key deletion.
SELECT eventtime, useridentity.arn AS who, sourceipaddress AS source_ip, eventname,
       awsregion AS region, coalesce(recipientaccountid, _account) AS account,
       json_extract_scalar(requestparameters, '$.keyId') AS detail, _log_key, _digest_key
FROM events
WHERE eventsource = 'kms.amazonaws.com'
  AND eventname IN ('ScheduleKeyDeletion', 'DisableKey')
  AND errorcode IS NULL
