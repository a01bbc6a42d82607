-- title: Administrator-level managed policy attached
-- why: attaching AdministratorAccess (or IAM full access) is the shortest path to owning an
--   account.
-- source: Sigma aws_iam_attach_critical_managed_policy.yml.
SELECT eventtime, useridentity.arn AS who, sourceipaddress AS source_ip, eventname,
       awsregion AS region, coalesce(recipientaccountid, _account) AS account,
       concat(coalesce(json_extract_scalar(requestparameters, '$.userName'),
                       json_extract_scalar(requestparameters, '$.roleName'),
                       json_extract_scalar(requestparameters, '$.groupName'), '?'),
              ' <- ', json_extract_scalar(requestparameters, '$.policyArn')) AS detail,
       _log_key, _digest_key
FROM events
WHERE eventsource = 'iam.amazonaws.com'
  AND eventname IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy')
  AND errorcode IS NULL
  AND json_extract_scalar(requestparameters, '$.policyArn') IN
      ('arn:aws:iam::aws:policy/AdministratorAccess', 'arn:aws:iam::aws:policy/PowerUserAccess',
       'arn:aws:iam::aws:policy/IAMFullAccess')
