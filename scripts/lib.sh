# Shared by scripts/test and scripts/run-local. Sourced, not run.

step() { printf '\n== %s ==\n' "$*"; }

localstack_healthy() {
  curl -fsS -m 2 http://127.0.0.1:4566/_localstack/health >/dev/null 2>&1
}

# Host builds of the Lambda bootstraps (LocalStack runs them as host processes): the debug
# build the tests share, stripped into target/lambda-local so the zips stay small. AWS
# artifacts come from cargo-lambda instead (README).
FUNCTIONS=(register notify interrogate admin)
build_functions() {
  local args=()
  for f in "${FUNCTIONS[@]}"; do args+=(-p "trustreg-$f"); done
  cargo build --locked "${args[@]}"
  mkdir -p target/lambda-local
  for f in "${FUNCTIONS[@]}"; do strip -o "target/lambda-local/$f" "target/debug/$f"; done
}

# The administrator key of local stacks: the tests sign admin requests with its private half
# (admin-key.pem, kid admin:test); stacks get its public half. Made once, kept across runs.
TEST_ADMIN_DIR=.trustreg/test-admin
ensure_test_admin() {
  if [ ! -f "$TEST_ADMIN_DIR/admin-key.pem" ] || [ ! -f "$TEST_ADMIN_DIR/admin-jwks.json" ]; then
    cargo run --quiet --locked -p trustreg-cli -- admin keygen --out "$TEST_ADMIN_DIR" --name test
  fi
}

# deploy_stack NAME REGID PATH TYPE DOMAINS -> .trustreg/stacks/NAME.json
deploy_stack() {
  local name=$1 regid=$2 path=$3 type=$4 domains=$5
  mkdir -p .trustreg/stacks
  ensure_test_admin
  "$TRUSTREG_LS_PYTHON" infra/deploy.py \
    --stack-name "$name" --reg-id "$regid" --path "$path" --type "$type" \
    --domains "$domains" --bin-dir target/lambda-local --arch x86_64 \
    --admin-keys "$TEST_ADMIN_DIR/admin-jwks.json" \
    --out ".trustreg/stacks/$name.json"
}
