#!/usr/bin/env bash
# The job image's entry point (/docker-entrypoint.sh, where Flink's own image and the Flink
# Kubernetes Operator look for it): `jobmanager` starts a session cluster's JobManager,
# `taskmanager` a TaskManager, anything else is run as given (as Flink's image does).
# Flink's bin/ scripts are not on Maven Central, so this starts the entry points the way they do:
# JVM memory flags from BashJavaUtils (inside flink-runtime) and env.java.opts.all from the
# configuration. Extra `-D key=value` arguments are Flink dynamic properties.
set -euo pipefail

FLINK_HOME="${FLINK_HOME:-/opt/flink}"
FLINK_CONF_DIR="${FLINK_CONF_DIR:-$FLINK_HOME/conf}"
java="${JAVA_HOME:-/opt/java}/bin/java"
# lib/ only, as Flink's scripts: the job in usrlib/ is user code, loaded by Flink's user class
# loader (application mode finds usrlib/ itself); on the system classpath as well, its copies of
# the Kafka clients would clash with those of the connector.
classpath="$FLINK_HOME/lib/*"

# A flat `key: value` line of config.yaml (the keys this image reads are never nested).
conf_value() {
  sed -n -e "s/^$1:[[:space:]]*//p" "$FLINK_CONF_DIR/config.yaml" | tail -n 1 |
    sed -e "s/^'\(.*\)'\$/\1/" -e 's/^"\(.*\)"$/\1/'
}

# BashJavaUtils prints its results on lines prefixed BASH_JAVA_UTILS_EXEC_RESULT:, the JVM
# parameters first, then the dynamic configuration.
resource_params() {
  local command="$1"
  shift
  "$java" -classpath "$classpath" org.apache.flink.runtime.util.bash.BashJavaUtils \
    "$command" --configDir "$FLINK_CONF_DIR" "$@" 2>/dev/null |
    sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p'
}

start() {
  local command="$1" main="$2"
  shift 2
  local params jvm dynamic
  params="$(resource_params "$command" "$@")"
  if [ "$(printf '%s\n' "$params" | wc -l)" -lt 2 ]; then
    echo "docker-entrypoint.sh: BashJavaUtils $command gave no memory settings (see $FLINK_CONF_DIR/config.yaml)" >&2
    exit 1
  fi
  jvm="$(printf '%s\n' "$params" | sed -n 1p)"
  dynamic="$(printf '%s\n' "$params" | sed -n 2p)"
  # shellcheck disable=SC2086 # word splitting of the JVM and dynamic parameters is intended
  exec "$java" $jvm $(conf_value env.java.opts.all) ${FLINK_ENV_JAVA_OPTS:-} \
    -Dlog4j.configurationFile="$FLINK_CONF_DIR/log4j-console.properties" \
    -classpath "$classpath" "$main" --configDir "$FLINK_CONF_DIR" $dynamic "$@"
}

case "${1:-}" in
  jobmanager)
    shift
    start GET_JM_RESOURCE_PARAMS \
      org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint "$@"
    ;;
  taskmanager)
    shift
    start GET_TM_RESOURCE_PARAMS org.apache.flink.runtime.taskexecutor.TaskManagerRunner "$@"
    ;;
  "")
    echo "usage: docker-entrypoint.sh jobmanager|taskmanager [-D key=value ...] | COMMAND [ARG ...]" >&2
    exit 2
    ;;
  *)
    exec "$@"
    ;;
esac
