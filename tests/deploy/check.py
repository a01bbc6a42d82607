"""Checks deploy/: the manifests against their schemas, and their shard commands run locally.

Usage: check.py TRAILCHECK WORKDIR

- deploy/kubernetes/indexed-job.yaml against Kubernetes' schemas (PyPI kubernetes-validate,
  strict: unknown fields are errors);
- deploy/aws-batch/job-definition.yaml with cfn-lint (PyPI), the AWS CloudFormation linter,
  which checks AWS::Batch::JobDefinition and AWS::IAM::Role properties;
- deploy/iam/read-only-policy.json with parliament (PyPI), which knows every IAM action, and
  equal to the policy the Batch template gives its job role;
- each validator shown to reject a broken copy, so a pass means something;
- the container command of each manifest run as it runs there: deploy/run-shard.sh once per
  index with JOB_COMPLETION_INDEX (Kubernetes) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch) set,
  against a simulated trail on disk instead of S3, with an `aws` on PATH that records what
  would be copied to the results bucket. The shards' results together must be one run's.
  The Kubernetes shards run with CHECKPOINTS set: a first night keeps one checkpoint a
  shard, a second starts from them, and a checkpoint that cannot be read stops each shard.
"""

import copy
import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import yaml
from cfnlint.decode import cfn_yaml
from parliament import analyze_policy_string

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "kubernetes" / "indexed-job.yaml"
BATCH = DEPLOY / "aws-batch" / "job-definition.yaml"
POLICY = DEPLOY / "iam" / "read-only-policy.json"
K8S_VERSION = "1.33"
START = "2026-11-01T00:00:00Z"


def fail(message):
    raise SystemExit(f"deploy check: {message}")


def check_kubernetes():
    docs = list(yaml.safe_load_all(K8S.read_text()))
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    job = next(d for d in docs if d["kind"] == "Job")
    broken = copy.deepcopy(job)
    broken["spec"]["template"]["spec"]["containers"][0]["argz"] = []
    try:
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)
    except Exception:  # noqa: BLE001  (any validation error will do)
        pass
    else:
        fail("kubernetes-validate accepted a container with an unknown field")
    if job["spec"]["completionMode"] != "Indexed":
        fail("the Job is not an Indexed Job")
    return job["spec"]["template"]["spec"]["containers"][0]["args"], job["spec"]["completions"]


def cfn_lint(path):
    # cfn-lint's command, run from this interpreter (its console script may be elsewhere).
    code = "import sys; from cfnlint.runner import main; sys.argv = ['cfn-lint', sys.argv[1]]; main()"
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True)


def check_batch(workdir):
    linted = cfn_lint(BATCH)
    if linted.returncode != 0:
        fail(f"cfn-lint: {linted.stdout}{linted.stderr}")
    broken = workdir / "broken-job-definition.yaml"
    broken.write_text(BATCH.read_text().replace("JobRoleArn:", "JobRoleArm:"))
    if cfn_lint(broken).returncode == 0:
        fail("cfn-lint accepted a job definition with a misspelt property")
    template = cfn_yaml.load(str(BATCH))
    props = template["Resources"]["JobDefinition"]["Properties"]["ContainerProperties"]
    policy = template["Resources"]["JobRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    return list(props["Command"]), json.loads(json.dumps(policy))


def check_policy(batch_policy):
    text = POLICY.read_text()
    findings = analyze_policy_string(text).findings
    if findings:
        fail(f"parliament: {[(f.issue, f.detail) for f in findings]}")
    if not analyze_policy_string(text.replace("s3:GetObjectVersion", "s3:GetObjektVersion")).findings:
        fail("parliament accepted an unknown action")
    if json.loads(text) != batch_policy:
        fail("deploy/iam/read-only-policy.json differs from the Batch job role's policy")
    actions = {a for s in json.loads(text)["Statement"] for a in
               (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    writes = {a for a in actions if a.startswith("s3:Put") or a.startswith("s3:Delete")}
    if writes != {"s3:PutObject"}:
        fail(f"the policy may write more than results: {sorted(writes)}")
    for statement in json.loads(text)["Statement"]:
        if "s3:PutObject" in statement["Action"] and "cloudtrail-logs" in statement["Resource"]:
            fail("the policy may write into the validated bucket")


def fake_aws(bindir, copies):
    """An `aws` over a folder, `copies`, standing for the results and checkpoint buckets:
    `aws s3 cp FILE s3://...` keeps FILE there by its name (and records the URL in `urls`),
    `aws s3 cp s3://... FILE` fetches it (recorded in `gets`), and `aws s3api head-object`
    says whether it is there, as S3's 404 when not; with FAKE_AWS_DENY set it is refused."""
    script = bindir / "aws"
    script.write_text(
        "#!/bin/sh\n"
        f'mkdir -p "{copies}"\n'
        'if [ "$1 $2" = "s3api head-object" ]; then\n'
        '  if [ -n "${FAKE_AWS_DENY:-}" ]; then\n'
        '    echo "An error occurred (403) when calling the HeadObject operation: Forbidden" >&2\n'
        '    exit 254\n'
        '  fi\n'
        f'  [ -f "{copies}/$(basename "$6")" ] && exit 0\n'
        '  echo "An error occurred (404) when calling the HeadObject operation: Not Found" >&2\n'
        '  exit 254\n'
        'fi\n'
        '# aws s3 cp --only-show-errors FROM TO\n'
        'from=$4 to=$5\n'
        'case "$from" in\n'
        f's3://*) cp "{copies}/$(basename "$from")" "$to" && echo "$from" >> "{copies}/gets" ;;\n'
        f'*) cp "$from" "{copies}/$(basename "$to")" && echo "$to" >> "{copies}/urls" ;;\n'
        'esac\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def verdicts(path):
    files = json.loads(Path(path).read_text())["files"]
    return {(f["kind"], f["bucket"], f["key"], f["status"], f["cause"]) for f in files}


def run_shards(trailcheck, workdir, name, command, variable, checkpoints=None):
    """The container's command, run once per index as the scheduler would run it; with
    `checkpoints` (CHECKPOINTS' URL), twice: a first night with no checkpoint, a second
    from the checkpoints the first kept, and a third with the checkpoint bucket refusing
    to be read, which must stop every shard before it validates."""
    source, results, count, *extra = command
    count = int(count)
    if not source.startswith("s3://") or not results.startswith("s3://"):
        fail(f"{name}: the command is not SOURCE RESULTS N")
    if source.split("/")[2] == results.split("/")[2]:
        fail(f"{name}: results would go into the bucket validated")
    archive, keys = workdir / "trail" / "archive", workdir / "trail" / "keys"
    if "--start-time" in extra:
        extra[extra.index("--start-time") + 1] = START
    extra += ["--end-time", "2026-11-01T07:00:00Z", "--keys", str(keys)]
    bindir = workdir / name / "bin"
    bindir.mkdir(parents=True)
    copies = workdir / name / "results"
    fake_aws(bindir, copies)
    (bindir / "trailcheck").symlink_to(trailcheck)
    env = {k: v for k, v in os.environ.items()
           if k not in ("JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX")}
    env["PATH"] = f"{bindir}:{env.get('PATH', '')}"
    env["TMPDIR"] = str(workdir / name)
    if checkpoints:
        env["CHECKPOINTS"] = checkpoints
    codes = []
    for index in range(count):
        env[variable] = str(index)
        ran = subprocess.run([str(DEPLOY / "run-shard.sh"), str(archive), results, str(count),
                              *extra], env=env, capture_output=True, text=True)
        codes.append(ran.returncode)
        for suffix in ("json", "xml"):
            if not (copies / f"shard-{index}-of-{count}.{suffix}").is_file():
                fail(f"{name}: shard {index} did not copy its {suffix}: {ran.stderr}")
    urls = (copies / "urls").read_text().split()
    kept = [u for u in urls if checkpoints and u.startswith(checkpoints + "/checkpoint-shard-")]
    if not all(u.startswith(results.rstrip("/") + "/shard-") for u in urls if u not in kept):
        fail(f"{name}: results went elsewhere: {urls}")
    if checkpoints and len(kept) != count:
        fail(f"{name}: {len(kept)} of {count} shards kept a checkpoint: {urls}")
    union = set()
    for index in range(count):
        shard = verdicts(copies / f"shard-{index}-of-{count}.json")
        if union & shard:
            fail(f"{name}: shard {index} judged files another shard judged")
        union |= shard
    whole = workdir / f"{name}-whole.json"
    subprocess.run([trailcheck, "validate", str(archive), "--keys", str(keys), "--start-time",
                    START, "--end-time", "2026-11-01T07:00:00Z", "--report-json", str(whole),
                    "-q"], capture_output=True)
    if union != verdicts(whole):
        fail(f"{name}: the shards' verdicts are not one run's")
    print(f"{name}: {count} shards ({variable}), exit codes {codes}, "
          f"{len(union)} files judged once each")
    if checkpoints:
        nightly(workdir, name, command, count, env, variable, copies, extra, archive)


def nightly(workdir, name, command, count, env, variable, copies, extra, archive):
    """The second night: each shard starts from the checkpoint the first kept (the result
    names its SHA-256); then a checkpoint bucket that refuses to be read stops each shard."""
    results = command[1]
    first = {}
    for index in range(count):
        kept = copies / f"checkpoint-shard-{index}-of-{count}.json"
        first[index] = hashlib.sha256(kept.read_bytes()).hexdigest()
    for index in range(count):
        env[variable] = str(index)
        ran = subprocess.run([str(DEPLOY / "run-shard.sh"), str(archive), results, str(count),
                              *extra], env=env, capture_output=True, text=True)
        result = json.loads((copies / f"shard-{index}-of-{count}.json").read_text())
        used = [c["sha256"] for c in result.get("checkpoints", [])]
        if used != [first[index]]:
            fail(f"{name}: shard {index} did not start from its checkpoint: {used} "
                 f"{ran.stderr}")
    gets = (copies / "gets").read_text().split()
    if len(gets) != count:
        fail(f"{name}: {len(gets)} checkpoints fetched for {count} shards")
    (copies / "urls").unlink()
    denied = dict(env, FAKE_AWS_DENY="1")
    for index in range(count):
        denied[variable] = str(index)
        ran = subprocess.run([str(DEPLOY / "run-shard.sh"), str(archive), results, str(count),
                              *extra], env=denied, capture_output=True, text=True)
        if ran.returncode != 2 or "cannot read the checkpoint" not in ran.stderr:
            fail(f"{name}: an unreadable checkpoint did not stop shard {index}: "
                 f"{ran.returncode} {ran.stderr}")
    if (copies / "urls").exists():
        fail(f"{name}: a shard that could not read its checkpoint still copied results")
    print(f"{name}: {count} shards from their checkpoints; an unreadable checkpoint stops "
          f"each shard (exit 2)")


def main():
    trailcheck, workdir = sys.argv[1], Path(sys.argv[2])
    workdir.mkdir(parents=True, exist_ok=True)
    subprocess.run([trailcheck, "simulate", str(workdir / "trail" / "archive"), "--keys-out",
                    str(workdir / "trail" / "keys"), "--hours", "6", "--regions",
                    "us-east-1,eu-west-1,ap-southeast-2,sa-east-1", "--tamper", "modify-log"],
                   check=True, capture_output=True)
    k8s_args, completions = check_kubernetes()
    if int(k8s_args[2]) != completions:
        fail("the Job's shard count is not its number of completions")
    batch_command, batch_policy = check_batch(workdir)
    check_policy(batch_policy)
    run_shards(trailcheck, workdir, "kubernetes", k8s_args, "JOB_COMPLETION_INDEX",
               checkpoints="s3://cloudtrail-integrity-state/nightly")
    run_shards(trailcheck, workdir, "aws-batch", batch_command, "AWS_BATCH_JOB_ARRAY_INDEX")
    print("deploy: manifests valid; shard commands judge every file once")


if __name__ == "__main__":
    main()
