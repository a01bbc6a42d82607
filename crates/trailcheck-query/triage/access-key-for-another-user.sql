-- title: Access key created for another user
-- why: a key made for someone else's user is a classic way to keep access (a backdoor).
-- source: Sigma aws_iam_backdoor_users_keys.yml (CreateAccessKey where the caller is not the
--   key's user).
SELECT eventtime, useridentity.arn AS who, sourceipaddress AS source_ip, eventname,
       awsregion AS region, coalesce(recipientaccountid, _account) AS account,
       json_extract_scalar(responseelements, '$.accessKey.userName') AS detail,
       _log_key, _digest_key
FROM events
WHERE eventsource = 'iam.amazonaws.com'
  AND eventname = 'CreateAccessKey'
  AND errorcode IS NULL
  AND json_extract_scalar(responseelements, '$.accessKey.userName') IS NOT NULL
  AND coalesce(useridentity.arn, '') NOT LIKE
      concat('%/', json_extract_scalar(responseelements, '$.accessKey.userName'))
