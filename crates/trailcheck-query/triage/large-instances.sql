-- title: Large or bare-metal instances launched
-- why: stolen credentials are often spent on the largest instances (cryptocurrency mining).
-- source: Amazon GuardDuty user guide, "CryptoCurrency" finding types; AWS Security Incident
--   Response guide (unexpected resource use). Size threshold: 8xlarge and up, and metal.
SELECT eventtime, useridentity.arn AS who, sourceipaddress AS source_ip, eventname,
       awsregion AS region, coalesce(recipientaccountid, _account) AS account,
       json_extract_scalar(requestparameters, '$.instanceType') AS detail, _log_key, _digest_key
FROM events
WHERE eventsource = 'ec2.amazonaws.com'
  AND eventname = 'RunInstances'
  AND errorcode IS NULL
  AND (json_extract_scalar(requestparameters, '$.instanceType') LIKE '%.metal%'
       OR json_extract_scalar(requestparameters, '$.instanceType') LIKE '%.8xlarge'
       OR json_extract_scalar(requestparameters, '$.instanceType') LIKE '%.1_xlarge'
       OR json_extract_scalar(requestparameters, '$.instanceType') LIKE '%.2_xlarge'
       OR json_extract_scalar(requestparameters, '$.instanceType') LIKE '%.3_xlarge'
       OR json_extract_scalar(requestparameters, '$.instanceType') LIKE '%.4_xlarge')
