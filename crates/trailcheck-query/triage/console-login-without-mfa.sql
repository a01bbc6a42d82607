-- title: Console sign-in without MFA
-- why: a password alone signed in to the console; stolen passwords look exactly like this.
-- source: Sigma aws_cloudtrail_console_login_success_without_mfa.yml; AWS CloudTrail user
--   guide, "AWS Management Console sign-in events" (additionalEventData.MFAUsed).
SELECT eventtime, useridentity.arn AS who, sourceipaddress AS source_ip, eventname,
       awsregion AS region, coalesce(recipientaccountid, _account) AS account,
       useragent AS detail, _log_key, _digest_key
FROM events
WHERE eventname = 'ConsoleLogin'
  AND json_extract_scalar(responseelements, '$.ConsoleLogin') = 'Success'
  AND json_extract_scalar(additionaleventdata, '$.MFAUsed') = 'No'
