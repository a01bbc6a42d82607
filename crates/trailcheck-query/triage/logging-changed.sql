-- title: CloudTrail logging stopped, deleted or changed
-- why: whoever turns logging off or narrows what is logged blinds every later investigation.
-- source: Sigma aws_cloudtrail_disable_logging.yml (StopLogging, UpdateTrail, DeleteTrail);
--   AWS CloudTrail user guide, "Security best practices in AWS CloudTrail" (event selectors
--   decide what is logged: PutEventSelectors, PutInsightSelectors).
SELECT eventtime, useridentity.arn AS who, sourceipaddress AS source_ip, eventname,
       awsregion AS region, coalesce(recipientaccountid, _account) AS account,
       json_extract_scalar(requestparameters, '$.name') AS detail, _log_key, _digest_key
FROM events
WHERE eventsource = 'cloudtrail.amazonaws.com'
  AND eventname IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors',
                    'PutInsightSelectors')
  AND errorcode IS NULL
