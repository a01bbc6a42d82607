-- title: Bucket deleted, or its access opened
-- why: deleting a bucket destroys evidence or data; a new policy or ACL, or Block Public Access
--   turned off, can make it public.
-- source: Sigma aws_cloudtrail_delete_bucket.yml, aws_cloudtrail_bucket_deleted.yml and
--   aws_cloudtrail_bucket_block_public_access_weakened.yml; Amazon S3 user guide, "Blocking
--   public access to your Amazon S3 storage".
SELECT eventtime, useridentity.arn AS who, sourceipaddress AS source_ip, eventname,
       awsregion AS region, coalesce(recipientaccountid, _account) AS account,
       json_extract_scalar(requestparameters, '$.bucketName') AS detail, _log_key, _digest_key
FROM events
WHERE eventsource = 's3.amazonaws.com'
  AND errorcode IS NULL
  AND (eventname IN ('DeleteBucket', 'PutBucketPolicy', 'PutBucketAcl',
                     'DeleteBucketPublicAccessBlock')
       OR (eventname = 'PutBucketPublicAccessBlock' AND requestparameters LIKE '%false%'))
