//! Generate realistic (inflated) CloudTrail log files for benchmarks.
//!
//! `cargo run --release --example gen -- <out-dir> <total-MiB> [records-per-log]`

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            let _ = write!(s, "{:016x}", self.next());
        }
        s.truncate(n);
        s
    }
    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

const ACCOUNTS: [&str; 3] = ["111122223333", "444455556666", "777788889999"];
const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"];
const USERS: [&str; 6] = ["alice", "bob", "carol", "deploy", "ci-runner", "breakglass"];
const INSTANCE_TYPES: [&str; 6] = [
    "t3.micro",
    "m5.xlarge",
    "c6i.2xlarge",
    "r6g.xlarge",
    "t3.large",
    "m7i.4xlarge",
];
const AGENTS: [&str; 4] = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64.amzn.2 prompt/off command/ec2.run-instances",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.8",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36",
    "terraform-provider-aws/5.42.0 (+https://registry.terraform.io) aws-sdk-go-v2/1.25.3",
];

fn identity(rng: &mut Rng, account: &str) -> serde_json::Value {
    let user = rng.pick(&USERS);
    if rng.below(3) == 0 {
        serde_json::json!({
            "type": "IAMUser",
            "principalId": format!("AIDA{}", rng.hex(16).to_uppercase()),
            "arn": format!("arn:aws:iam::{account}:user/{user}"),
            "accountId": account,
            "accessKeyId": format!("AKIA{}", rng.hex(16).to_uppercase()),
            "userName": user
        })
    } else {
        let role = format!("{user}-role");
        serde_json::json!({
            "type": "AssumedRole",
            "principalId": format!("AROA{}:{user}", rng.hex(16).to_uppercase()),
            "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{user}"),
            "accountId": account,
            "accessKeyId": format!("ASIA{}", rng.hex(16).to_uppercase()),
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": format!("AROA{}", rng.hex(16).to_uppercase()),
                    "arn": format!("arn:aws:iam::{account}:role/{role}"),
                    "accountId": account,
                    "userName": role
                },
                "webIdFederationData": {},
                "attributes": {
                    "creationDate": "2026-11-05T07:12:44Z",
                    "mfaAuthenticated": if rng.below(2) == 0 { "true" } else { "false" }
                }
            }
        })
    }
}

fn record(rng: &mut Rng, account: &str, region: &str, day: u64, n: u64) -> serde_json::Value {
    let secs = (n * 37 + rng.below(3600)) % 86_400;
    let time = format!(
        "2026-11-{:02}T{:02}:{:02}:{:02}Z",
        day,
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    let ip = format!(
        "{}.{}.{}.{}",
        rng.below(223) + 1,
        rng.below(256),
        rng.below(256),
        rng.below(256)
    );
    let kind = rng.below(100);
    let (source, name, params, response, extra, read_only): (
        &str,
        &str,
        serde_json::Value,
        serde_json::Value,
        serde_json::Value,
        bool,
    ) = match kind {
        0..=2 => (
            "s3.amazonaws.com",
            "DeleteBucket",
            serde_json::json!({"bucketName": format!("data-{}", rng.hex(6)), "Host": "s3.amazonaws.com"}),
            serde_json::Value::Null,
            serde_json::json!({"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": rng.hex(60), "bytesTransferredOut": 0}),
            false,
        ),
        3..=10 => {
            let itype = rng.pick(&INSTANCE_TYPES);
            (
                "ec2.amazonaws.com",
                "RunInstances",
                serde_json::json!({
                    "instancesSet": {"items": [{"imageId": format!("ami-{}", rng.hex(17)), "minCount": 1, "maxCount": 1}]},
                    "instanceType": itype,
                    "blockDeviceMapping": {},
                    "monitoring": {"enabled": false},
                    "disableApiTermination": false,
                    "disableApiStop": false,
                    "clientToken": rng.uuid(),
                    "networkInterfaceSet": {"items": [{"deviceIndex": 0, "subnetId": format!("subnet-{}", rng.hex(17)), "groupSet": {"items": [{"groupId": format!("sg-{}", rng.hex(17))}]}}]},
                    "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "Name", "value": format!("worker-{}", rng.below(100))}]}]}
                }),
                serde_json::json!({
                    "requestId": rng.uuid(),
                    "reservationId": format!("r-{}", rng.hex(17)),
                    "ownerId": account,
                    "groupSet": {},
                    "instancesSet": {"items": [{"instanceId": format!("i-{}", rng.hex(17)), "instanceType": itype, "instanceState": {"code": 0, "name": "pending"}, "privateIpAddress": "10.0.1.23", "launchTime": 1_793_000_000_000u64, "placement": {"availabilityZone": format!("{region}a"), "tenancy": "default"}}]}
                }),
                serde_json::Value::Null,
                false,
            )
        }
        11..=15 => (
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            serde_json::json!({
                "groupId": format!("sg-{}", rng.hex(17)),
                "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {}, "ipRanges": {"items": [{"cidrIp": if rng.below(4) == 0 { "0.0.0.0/0" } else { "10.0.0.0/8" }}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}
            }),
            serde_json::json!({"requestId": rng.uuid(), "_return": true, "securityGroupRuleSet": {"items": [{"groupOwnerId": account, "groupId": format!("sg-{}", rng.hex(17)), "securityGroupRuleId": format!("sgr-{}", rng.hex(17)), "isEgress": false, "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"}]}}),
            serde_json::Value::Null,
            false,
        ),
        16..=18 => (
            "signin.amazonaws.com",
            "ConsoleLogin",
            serde_json::Value::Null,
            serde_json::json!({"ConsoleLogin": if rng.below(10) == 0 { "Failure" } else { "Success" }}),
            serde_json::json!({"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": if rng.below(3) == 0 { "No" } else { "Yes" }}),
            false,
        ),
        19..=60 => (
            "s3.amazonaws.com",
            rng.pick(&["GetObject", "PutObject", "HeadObject"]),
            serde_json::json!({"bucketName": "app-data", "Host": "app-data.s3.amazonaws.com", "key": format!("uploads/{}/{}.bin", rng.hex(8), rng.hex(12))}),
            serde_json::Value::Null,
            serde_json::json!({"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "bytesTransferredOut": rng.below(1 << 20)}),
            true,
        ),
        _ => (
            rng.pick(&[
                "sts.amazonaws.com",
                "kms.amazonaws.com",
                "ec2.amazonaws.com",
            ]),
            rng.pick(&[
                "AssumeRole",
                "Decrypt",
                "DescribeInstances",
                "GenerateDataKey",
            ]),
            serde_json::json!({"encryptionContext": {"aws:s3:arn": format!("arn:aws:s3:::app-data/{}", rng.hex(10))}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            serde_json::Value::Null,
            serde_json::Value::Null,
            true,
        ),
    };
    let mut rec = serde_json::json!({
        "eventVersion": "1.10",
        "userIdentity": identity(rng, account),
        "eventTime": time,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": rng.pick(&AGENTS),
        "requestParameters": params,
        "responseElements": response,
        "requestID": rng.uuid(),
        "eventID": rng.uuid(),
        "readOnly": read_only,
        "resources": [{"accountId": account, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::app-data"}],
        "eventType": "AwsApiCall",
        "managementEvent": !read_only,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", source.split('.').next().unwrap_or("ec2"))}
    });
    if !extra.is_null() {
        rec["additionalEventData"] = extra;
    }
    if rng.below(20) == 0 {
        rec["errorCode"] = "AccessDenied".into();
        rec["errorMessage"] = "User is not authorized to perform this operation".into();
    }
    rec
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: gen <out-dir> <MiB> [records-per-log]")?,
    );
    let mib: u64 = args.next().ok_or("missing MiB")?.parse()?;
    let per_log: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(250);
    std::fs::create_dir_all(&dir)?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut total, mut files, mut events) = (0u64, 0u64, 0u64);
    while total < mib << 20 {
        let account = ACCOUNTS[(files % 3) as usize];
        let region = REGIONS[(files / 3 % 4) as usize];
        let day = 1 + files % 9;
        let records: Vec<_> = (0..per_log)
            .map(|n| record(&mut rng, account, region, day, n))
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({ "Records": records }))?;
        let name = format!("{account}_CloudTrail_{region}_202611{day:02}_{files:06}.json");
        std::fs::File::create(dir.join(name))?.write_all(&body)?;
        total += body.len() as u64;
        files += 1;
        events += per_log;
    }
    eprintln!(
        "wrote {files} logs, {events} events, {total} bytes to {}",
        dir.display()
    );
    Ok(())
}
