-- title: GuardDuty or AWS Config turned off
-- why: attackers switch off the services that would notice them.
-- source: Sigma aws_guardduty_detector_deleted_or_updated.yml and aws_config_disable_recording.yml.
SELECT eventtime, useridentity.arn AS who, sourceipaddress AS source_ip, eventname,
       awsregion AS region, coalesce(recipientaccountid, _account) AS account,
       coalesce(json_extract_scalar(requestparameters, '$.detectorId'),
                json_extract_scalar(requestparameters, '$.configurationRecorderName'),
                json_extract_scalar(requestparameters, '$.deliveryChannelName')) AS detail,
       _log_key, _digest_key
FROM events
WHERE errorcode IS NULL
  AND ((eventsource = 'guardduty.amazonaws.com' AND eventname IN ('DeleteDetector', 'UpdateDetector'))
       OR (eventsource = 'config.amazonaws.com'
           AND eventname IN ('StopConfigurationRecorder', 'DeleteConfigurationRecorder',
                             'DeleteDeliveryChannel')))
