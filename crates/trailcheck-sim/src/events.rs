//! Event records: varied, realistic CloudTrail management events, deterministic from a seed.
//!
//! Realism matters because validators and their users read these files: identities, user
//! agents, request and response shapes follow the CloudTrail record reference.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::SimError;
use super::rng::Rng;
use trailcheck_core::time;

/// The fewest and most events in one log file, by default: logs of about 1 to 10 KB gzipped.
pub const EVENTS_PER_LOG: (u64, u64) = (5, 60);
/// Events happen at most this long before their log is delivered.
const MAX_DELIVERY_DELAY_SECS: u64 = 14 * 60;
const MIN_DELIVERY_DELAY_SECS: u64 = 20;

/// A log file's uncompressed content and the span of its events.
pub(crate) struct LogBody {
    pub json: Vec<u8>,
    pub oldest: DateTime<Utc>,
    pub newest: DateTime<Utc>,
}

/// Who acts in a trail: a fixed cast per seed, so the same people recur across files.
pub(crate) struct Cast {
    actors: Vec<Actor>,
}

struct Actor {
    kind: ActorKind,
    name: String,
    principal_id: String,
    access_key_id: String,
    source_ip: String,
    user_agent: &'static str,
    mfa: bool,
    /// How often this actor acts, relative to the others.
    weight: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ActorKind {
    IamUser,
    /// `name` is `role/session`; `principal_id` is the role's id.
    AssumedRole,
    /// `name` is the service principal, such as `ec2.amazonaws.com`.
    Service,
    Root,
}

/// One API operation the simulator can record.
struct Op {
    source: &'static str,
    name: &'static str,
    read_only: bool,
    version: &'static str,
    /// IAM and other global services log in us-east-1 only.
    global: bool,
}

const OPS: [Op; 20] = [
    op("ec2", "DescribeInstances", true, "1.10", false),
    op("ec2", "DescribeSecurityGroups", true, "1.10", false),
    op("ec2", "RunInstances", false, "1.10", false),
    op("ec2", "StopInstances", false, "1.10", false),
    op("ec2", "AuthorizeSecurityGroupIngress", false, "1.10", false),
    op("s3", "ListBuckets", true, "1.10", false),
    op("s3", "GetBucketAcl", true, "1.10", false),
    op("s3", "PutBucketPolicy", false, "1.10", false),
    op("s3", "DeleteBucket", false, "1.10", false),
    op("iam", "CreateUser", false, "1.09", true),
    op("iam", "ListRoles", true, "1.09", true),
    op("iam", "AttachRolePolicy", false, "1.09", true),
    op("sts", "AssumeRole", true, "1.08", false),
    op("sts", "GetCallerIdentity", true, "1.08", false),
    op("kms", "Decrypt", true, "1.09", false),
    op("cloudtrail", "LookupEvents", true, "1.09", false),
    op("lambda", "ListFunctions20150331", true, "1.09", false),
    op("logs", "CreateLogGroup", false, "1.09", false),
    op("ssm", "GetParameter", true, "1.09", false),
    op("monitoring", "PutMetricAlarm", false, "1.09", false),
];

const fn op(
    service: &'static str,
    name: &'static str,
    read_only: bool,
    version: &'static str,
    global: bool,
) -> Op {
    let source = match service.as_bytes() {
        b"ec2" => "ec2.amazonaws.com",
        b"s3" => "s3.amazonaws.com",
        b"iam" => "iam.amazonaws.com",
        b"sts" => "sts.amazonaws.com",
        b"kms" => "kms.amazonaws.com",
        b"cloudtrail" => "cloudtrail.amazonaws.com",
        b"lambda" => "lambda.amazonaws.com",
        b"logs" => "logs.amazonaws.com",
        b"ssm" => "ssm.amazonaws.com",
        _ => "monitoring.amazonaws.com",
    };
    Op {
        source,
        name,
        read_only,
        version,
        global,
    }
}

const CLI_AGENT: &str = "aws-cli/2.17.12 md/awscrt#0.20.11 ua/2.0 os/linux#6.1.97-104.177.amzn2023.x86_64 md/arch#x86_64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#amzn.2023 md/prompt#off";
const TERRAFORM_AGENT: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.9.2 (+https://www.terraform.io) terraform-provider-aws/5.58.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.1 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64";
const CONSOLE_AGENT: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
const BOTO_AGENT: &str = "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10.219-208.866.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.4 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.144";
const SDK_JAVA_AGENT: &str = "aws-sdk-java/2.26.20 Linux/5.10.219-208.866.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/21.0.3+9-LTS Java/21.0.3 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy";

impl Cast {
    /// The people and services acting in a trail made with `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::stream(seed, "cast", &[]);
        let sso_session = format!(
            "AWSReservedSSO_AdministratorAccess_{}/jane.doe@example.com",
            rng.hex(16)
        );
        let instance_session = format!("inventory-app-role/i-0{}", rng.hex(16));
        let r = &mut rng;
        let actors = vec![
            human(r, ActorKind::IamUser, "alice", CLI_AGENT, "198.51.100", 4),
            human(
                r,
                ActorKind::IamUser,
                "ci-deployer",
                TERRAFORM_AGENT,
                "203.0.113",
                3,
            ),
            human(
                r,
                ActorKind::AssumedRole,
                &sso_session,
                CONSOLE_AGENT,
                "192.0.2",
                3,
            ),
            human(
                r,
                ActorKind::AssumedRole,
                "order-processor-role/order-processor",
                BOTO_AGENT,
                "203.0.113",
                4,
            ),
            human(
                r,
                ActorKind::AssumedRole,
                &instance_session,
                SDK_JAVA_AGENT,
                "198.51.100",
                3,
            ),
            service("ec2.amazonaws.com", 2),
            service("cloudformation.amazonaws.com", 1),
            human(r, ActorKind::Root, "root", CONSOLE_AGENT, "192.0.2", 1),
        ];
        Self { actors }
    }

    fn pick(&self, rng: &mut Rng) -> &Actor {
        let total: u64 = self.actors.iter().map(|a| a.weight).sum();
        let mut n = rng.below(total);
        for actor in &self.actors {
            if n < actor.weight {
                return actor;
            }
            n -= actor.weight;
        }
        &self.actors[0]
    }
}

/// A person or program with credentials, calling from `network` (a documentation /24).
fn human(
    rng: &mut Rng,
    kind: ActorKind,
    name: &str,
    user_agent: &'static str,
    network: &str,
    weight: u64,
) -> Actor {
    let source_ip = format!("{network}.{}", rng.range(2, 254));
    let (id_prefix, key_prefix) = match kind {
        ActorKind::IamUser => ("AIDA", "AKIA"),
        _ => ("AROA", "ASIA"),
    };
    Actor {
        kind,
        name: name.to_owned(),
        principal_id: rng.iam_id(id_prefix, 17),
        access_key_id: rng.iam_id(key_prefix, 16),
        source_ip,
        user_agent,
        mfa: user_agent == CONSOLE_AGENT,
        weight,
    }
}

fn service(principal: &str, weight: u64) -> Actor {
    Actor {
        kind: ActorKind::Service,
        name: principal.to_owned(),
        principal_id: String::new(),
        access_key_id: String::new(),
        source_ip: principal.to_owned(),
        user_agent: "AWS Internal",
        mfa: false,
        weight,
    }
}

/// Where events are recorded.
pub(crate) struct EventContext<'a> {
    pub region: &'a str,
    pub account: &'a str,
    /// The fewest and most events in one log.
    pub events: (u64, u64),
}

#[derive(Serialize)]
struct Records<'a> {
    #[serde(rename = "Records")]
    records: &'a [Event],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    event_version: &'static str,
    user_identity: UserIdentity,
    event_time: String,
    event_source: &'static str,
    event_name: &'static str,
    aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    source_ip_address: String,
    user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_message: Option<String>,
    request_parameters: Value,
    response_elements: Value,
    #[serde(rename = "requestID")]
    request_id: String,
    #[serde(rename = "eventID")]
    event_id: String,
    read_only: bool,
    event_type: &'static str,
    management_event: bool,
    recipient_account_id: String,
    event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_details: Option<TlsDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_credential_from_console: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UserIdentity {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_context: Option<SessionContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invoked_by: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext {
    #[serde(skip_serializing_if = "Option::is_none")]
    session_issuer: Option<SessionIssuer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    web_id_federation_data: Option<Value>,
    attributes: SessionAttributes,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionIssuer {
    #[serde(rename = "type")]
    kind: &'static str,
    principal_id: String,
    arn: String,
    account_id: String,
    user_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionAttributes {
    creation_date: String,
    mfa_authenticated: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TlsDetails {
    tls_version: &'static str,
    cipher_suite: &'static str,
    client_provided_host_header: String,
}

/// The content of one log delivered at `delivered`: 5 to 60 events that happened shortly before.
pub(crate) fn log_body(
    cast: &Cast,
    ctx: &EventContext,
    rng: &mut Rng,
    delivered: DateTime<Utc>,
) -> Result<LogBody, SimError> {
    let count = rng.range(ctx.events.0, ctx.events.1);
    let events: Vec<Event> = (0..count)
        .map(|_| event(cast, ctx, rng, delivered))
        .collect();
    encode(&events, delivered)
}

/// A log holding one more event: what an attacker appends as a second gzip member.
pub(crate) fn extra_body(
    cast: &Cast,
    ctx: &EventContext,
    rng: &mut Rng,
    delivered: DateTime<Utc>,
) -> Result<LogBody, SimError> {
    encode(&[event(cast, ctx, rng, delivered)], delivered)
}

fn encode(events: &[Event], delivered: DateTime<Utc>) -> Result<LogBody, SimError> {
    let json = serde_json::to_vec(&Records { records: events })
        .map_err(SimError::encode("log records"))?;
    let times = || {
        events
            .iter()
            .filter_map(|e| time::parse_cloudtrail(&e.event_time))
    };
    Ok(LogBody {
        json,
        oldest: times().min().unwrap_or(delivered),
        newest: times().max().unwrap_or(delivered),
    })
}

fn event(cast: &Cast, ctx: &EventContext, rng: &mut Rng, delivered: DateTime<Utc>) -> Event {
    let delay = rng.range(MIN_DELIVERY_DELAY_SECS, MAX_DELIVERY_DELAY_SECS);
    let at = delivered - Duration::seconds(delay as i64);
    let actor = cast.pick(rng);
    let op = pick_op(rng, actor, ctx.region);
    let aws_region = if op.global { "us-east-1" } else { ctx.region };
    let failed = actor.kind != ActorKind::Service && rng.chance(5);
    let request_parameters = request(op, rng, ctx);
    let response_elements = if failed {
        Value::Null
    } else {
        response(op, rng, ctx, &request_parameters, at)
    };
    let (error_code, error_message) = if failed {
        error(op, actor, ctx)
    } else {
        (None, None)
    };
    Event {
        event_version: op.version,
        user_identity: identity(actor, ctx, rng, at),
        event_time: time::display(at),
        event_source: op.source,
        event_name: op.name,
        aws_region: aws_region.to_owned(),
        source_ip_address: actor.source_ip.clone(),
        user_agent: actor.user_agent.to_owned(),
        error_code,
        error_message,
        request_parameters,
        response_elements,
        request_id: request_id(op, rng),
        event_id: rng.uuid(),
        read_only: op.read_only,
        event_type: "AwsApiCall",
        management_event: true,
        recipient_account_id: ctx.account.to_owned(),
        event_category: "Management",
        tls_details: tls_details(op, actor, aws_region),
        session_credential_from_console: (actor.user_agent == CONSOLE_AGENT).then_some("true"),
    }
}

/// Services act through a few operations only; IAM and other global operations are logged
/// in us-east-1 only.
fn pick_op(rng: &mut Rng, actor: &Actor, region: &str) -> &'static Op {
    let allowed = |op: &&Op| {
        (!op.global || region == "us-east-1")
            && (actor.kind != ActorKind::Service || matches!(op.name, "Decrypt" | "AssumeRole"))
    };
    let ops: Vec<&'static Op> = OPS.iter().filter(allowed).collect();
    ops[rng.below(ops.len() as u64) as usize]
}

fn identity(actor: &Actor, ctx: &EventContext, rng: &mut Rng, at: DateTime<Utc>) -> UserIdentity {
    let account = ctx.account;
    let mut id = UserIdentity {
        kind: "IAMUser",
        principal_id: Some(actor.principal_id.clone()),
        arn: None,
        account_id: Some(account.to_owned()),
        access_key_id: Some(actor.access_key_id.clone()),
        user_name: None,
        session_context: None,
        invoked_by: None,
    };
    match actor.kind {
        ActorKind::IamUser => {
            id.arn = Some(format!("arn:aws:iam::{account}:user/{}", actor.name));
            id.user_name = Some(actor.name.clone());
        }
        ActorKind::Root => {
            id.kind = "Root";
            id.principal_id = Some(account.to_owned());
            id.arn = Some(format!("arn:aws:iam::{account}:root"));
            id.session_context = Some(session(None, actor, rng, at));
        }
        ActorKind::AssumedRole => assumed_role(&mut id, actor, account, rng, at),
        ActorKind::Service => {
            id = UserIdentity {
                kind: "AWSService",
                principal_id: None,
                arn: None,
                account_id: None,
                access_key_id: None,
                user_name: None,
                session_context: None,
                invoked_by: Some(actor.name.clone()),
            };
        }
    }
    id
}

fn assumed_role(
    id: &mut UserIdentity,
    actor: &Actor,
    account: &str,
    rng: &mut Rng,
    at: DateTime<Utc>,
) {
    let (role, session_name) = actor
        .name
        .split_once('/')
        .unwrap_or((&actor.name, "session"));
    let sso = role.starts_with("AWSReservedSSO_");
    let role_path = if sso {
        "aws-reserved/sso.amazonaws.com/"
    } else {
        ""
    };
    id.kind = "AssumedRole";
    id.principal_id = Some(format!("{}:{session_name}", actor.principal_id));
    id.arn = Some(format!(
        "arn:aws:sts::{account}:assumed-role/{role}/{session_name}"
    ));
    let issuer = SessionIssuer {
        kind: "Role",
        principal_id: actor.principal_id.clone(),
        arn: format!("arn:aws:iam::{account}:role/{role_path}{role}"),
        account_id: account.to_owned(),
        user_name: role.to_owned(),
    };
    id.session_context = Some(session(Some(issuer), actor, rng, at));
}

fn session(
    issuer: Option<SessionIssuer>,
    actor: &Actor,
    rng: &mut Rng,
    at: DateTime<Utc>,
) -> SessionContext {
    let age = Duration::seconds(rng.range(60, 3 * 3600) as i64);
    let federated = issuer.is_some();
    SessionContext {
        session_issuer: issuer,
        web_id_federation_data: federated.then(|| json!({})),
        attributes: SessionAttributes {
            creation_date: time::display(at - age),
            mfa_authenticated: if actor.mfa { "true" } else { "false" },
        },
    }
}

fn tls_details(op: &Op, actor: &Actor, region: &str) -> Option<TlsDetails> {
    if actor.kind == ActorKind::Service {
        return None;
    }
    let service = op.source.trim_end_matches(".amazonaws.com");
    let host = if op.global {
        format!("{service}.amazonaws.com")
    } else {
        format!("{service}.{region}.amazonaws.com")
    };
    Some(TlsDetails {
        tls_version: "TLSv1.3",
        cipher_suite: "TLS_AES_128_GCM_SHA256",
        client_provided_host_header: host,
    })
}

fn request_id(op: &Op, rng: &mut Rng) -> String {
    if op.source == "s3.amazonaws.com" {
        rng.iam_id("", 16)
    } else {
        rng.uuid()
    }
}

fn error(op: &Op, actor: &Actor, ctx: &EventContext) -> (Option<&'static str>, Option<String>) {
    if op.source == "ec2.amazonaws.com" {
        return (
            Some("Client.UnauthorizedOperation"),
            Some("You are not authorized to perform this operation. User is not authorized to perform this action.".to_owned()),
        );
    }
    let service = op.source.trim_end_matches(".amazonaws.com");
    let who = match actor.kind {
        ActorKind::IamUser => format!("arn:aws:iam::{}:user/{}", ctx.account, actor.name),
        _ => format!("arn:aws:sts::{}:assumed-role/{}", ctx.account, actor.name),
    };
    (
        Some("AccessDenied"),
        Some(format!(
            "User: {who} is not authorized to perform: {service}:{} because no identity-based policy allows the {service}:{} action",
            op.name, op.name
        )),
    )
}

fn instance_id(rng: &mut Rng) -> String {
    format!("i-0{}", rng.hex(16))
}

fn request(op: &Op, rng: &mut Rng, ctx: &EventContext) -> Value {
    let region = ctx.region;
    match op.name {
        "DescribeInstances" => json!({"instancesSet": {}, "filterSet": {}}),
        "DescribeSecurityGroups" => {
            json!({"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}})
        }
        "RunInstances" => json!({
            "instancesSet": {"items": [{"imageId": format!("ami-0{}", rng.hex(16)), "minCount": 1, "maxCount": 1}]},
            "instanceType": rng.pick(&["t3.micro", "t3.large", "m7g.xlarge", "c6i.2xlarge", "m5.12xlarge"]),
            "blockDeviceMapping": {},
            "monitoring": {"enabled": false},
            "disableApiTermination": false,
            "disableApiStop": false,
        }),
        "StopInstances" => {
            json!({"instancesSet": {"items": [{"instanceId": instance_id(rng)}]}, "force": false})
        }
        "AuthorizeSecurityGroupIngress" => json!({
            "groupId": format!("sg-0{}", rng.hex(16)),
            "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]},
        }),
        "ListBuckets" => json!({"Host": format!("s3.{region}.amazonaws.com")}),
        "GetBucketAcl" => {
            json!({"bucketName": bucket_name(rng, ctx), "Host": format!("s3.{region}.amazonaws.com"), "acl": ""})
        }
        "DeleteBucket" => {
            json!({"bucketName": bucket_name(rng, ctx), "Host": format!("s3.{region}.amazonaws.com")})
        }
        "PutBucketPolicy" => json!({
            "bucketName": bucket_name(rng, ctx),
            "Host": format!("s3.{region}.amazonaws.com"),
            "policy": "",
            "bucketPolicy": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
                "Action": "s3:*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]},
        }),
        "CreateUser" => json!({"userName": format!("svc-{}", rng.alnum(6).to_lowercase())}),
        "ListRoles" => json!({"maxItems": 100}),
        "AttachRolePolicy" => json!({
            "roleName": "order-processor-role",
            "policyArn": rng.pick(&["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]),
        }),
        "AssumeRole" => json!({
            "roleArn": format!("arn:aws:iam::{}:role/inventory-app-role", ctx.account),
            "roleSessionName": instance_id(rng),
            "durationSeconds": 3600,
        }),
        "Decrypt" => json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "encryptionContext": {"aws:lambda:FunctionArn": format!("arn:aws:lambda:{region}:{}:function:order-processor", ctx.account)}}),
        "LookupEvents" => {
            json!({"maxResults": 50, "lookupAttributes": [{"attributeKey": "EventName", "attributeValue": "ConsoleLogin"}]})
        }
        "CreateLogGroup" => json!({"logGroupName": format!("/aws/lambda/job-{}", rng.hex(6))}),
        "GetParameter" => {
            json!({"name": rng.pick(&["/app/prod/db-host", "/app/prod/feature-flags", "/app/staging/db-host"]), "withDecryption": false})
        }
        "PutMetricAlarm" => json!({
            "alarmName": format!("HighCPU-{}", instance_id(rng)),
            "metricName": "CPUUtilization", "namespace": "AWS/EC2", "statistic": "Average",
            "period": 300, "evaluationPeriods": 2, "threshold": 80.0,
            "comparisonOperator": "GreaterThanThreshold",
        }),
        _ => Value::Null,
    }
}

/// The response to `request`, made at `at`; `null` for operations that return nothing
/// CloudTrail records.
fn response(
    op: &Op,
    rng: &mut Rng,
    ctx: &EventContext,
    request: &Value,
    at: DateTime<Utc>,
) -> Value {
    let account = ctx.account;
    match op.name {
        "RunInstances" => json!({
            "requestId": rng.uuid(),
            "reservationId": format!("r-0{}", rng.hex(16)),
            "ownerId": account,
            "instancesSet": {"items": [{"instanceId": instance_id(rng), "currentState": {"code": 0, "name": "pending"}}]},
        }),
        "StopInstances" => json!({
            "requestId": rng.uuid(),
            "instancesSet": {"items": [{"instanceId": request["instancesSet"]["items"][0]["instanceId"],
                "currentState": {"code": 64, "name": "stopping"}, "previousState": {"code": 16, "name": "running"}}]},
        }),
        "AuthorizeSecurityGroupIngress" => json!({
            "requestId": rng.uuid(), "_return": true,
            "securityGroupRuleSet": {"items": [{"groupId": request["groupId"],
                "securityGroupRuleId": format!("sgr-0{}", rng.hex(16)), "isEgress": false}]},
        }),
        "CreateUser" => {
            let name = request["userName"].as_str().unwrap_or_default();
            json!({"user": {"path": "/", "userName": name, "userId": rng.iam_id("AIDA", 17),
                "arn": format!("arn:aws:iam::{account}:user/{name}"), "createDate": console_time(at)}})
        }
        "AssumeRole" => {
            let session = request["roleSessionName"].as_str().unwrap_or_default();
            json!({
                "credentials": {"accessKeyId": rng.iam_id("ASIA", 16),
                    "sessionToken": format!("IQoJb3JpZ2luX2Vj{}", rng.alnum(48)),
                    "expiration": console_time(at + Duration::hours(1))},
                "assumedRoleUser": {"assumedRoleId": format!("{}:{session}", rng.iam_id("AROA", 17)),
                    "arn": format!("arn:aws:sts::{account}:assumed-role/inventory-app-role/{session}")},
            })
        }
        _ => Value::Null,
    }
}

/// The time format some services use inside `responseElements`: `Nov 1, 2026, 3:04:05 AM`.
fn console_time(at: DateTime<Utc>) -> String {
    at.format("%b %-d, %Y, %-I:%M:%S %p").to_string()
}

fn bucket_name(rng: &mut Rng, ctx: &EventContext) -> String {
    let purpose = rng.pick(&["assets", "backups", "data-lake", "artifacts"]);
    format!("{purpose}-{}-{}", ctx.account, ctx.region)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(seed: u64, region: &str) -> LogBody {
        let cast = Cast::new(seed);
        let ctx = EventContext {
            region,
            account: "111122223333",
            events: EVENTS_PER_LOG,
        };
        let delivered = DateTime::from_timestamp(1_793_491_200, 0).unwrap();
        log_body(&cast, &ctx, &mut Rng::stream(seed, "log", &[0]), delivered).unwrap()
    }

    #[test]
    fn logs_hold_5_to_60_well_formed_events_before_delivery() {
        for seed in 0..20 {
            let log = body(seed, "eu-west-1");
            let v: Value = serde_json::from_slice(&log.json).unwrap();
            let records = v["Records"].as_array().unwrap();
            assert!((5..=60).contains(&records.len()));
            for r in records {
                assert_eq!(r["eventType"], "AwsApiCall");
                assert_eq!(r["eventCategory"], "Management");
                assert_eq!(r["recipientAccountId"], "111122223333");
                assert!(r["userIdentity"]["type"].is_string());
                assert_eq!(r["eventID"].as_str().unwrap().len(), 36);
                assert_ne!(
                    r["eventSource"], "iam.amazonaws.com",
                    "IAM only in us-east-1"
                );
            }
            assert!(log.oldest <= log.newest);
            assert!(log.newest < DateTime::from_timestamp(1_793_491_200, 0).unwrap());
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        assert_eq!(body(3, "us-east-1").json, body(3, "us-east-1").json);
        assert_ne!(body(3, "us-east-1").json, body(4, "us-east-1").json);
    }
}
