#!/usr/bin/env bash
# Runs a real single-node Apache Kafka broker for simrun's tests and benchmarks, with or without
# a Docker engine. Where a Docker engine answers, it runs docker-compose.yml. Elsewhere Maven
# fetches the broker's jars from Maven Central (tools/kafka/pom.xml) into .cache/kafka, and the
# broker runs in KRaft mode, broker and controller in one process, under the machine's Java.
# The Kafka version is pinned in one place: the default image tag in docker-compose.yml.
#
# usage: scripts/kafka-local.sh VERB [ARGS...]
#   up                  start a broker unless one already answers on $BOOTSTRAP, wait until ready
#   down                stop the broker that `up` started; a broker it did not start is left alone
#   status              tell whether a broker answers on $BOOTSTRAP: exit 0 if so, 1 if not
#   wait                wait until a broker answers on $BOOTSTRAP
#   logs [-f]           show the end of the broker's log, or follow it with -f
#   clean               stop the broker that `up` started, then wipe its data and logs
#   fetch               only fetch the jars
#   classpath           print the Java classpath of the broker and Kafka's tools
#   version             print the Kafka version in use
#   with-broker COMMAND [ARGS...]
#                       run a command with a broker on $BOOTSTRAP: start one if none answers,
#                       and stop it again afterwards, pass or fail; exits with the command's status
#   java-class CLASS [ARGS...]
#                       run a Java class on that classpath, for instance
#                       java-class org.apache.kafka.tools.TopicCommand \
#                           --bootstrap-server localhost:9092 --list
#
# environment:
#   BOOTSTRAP            the broker to check and reuse (default localhost:9092)
#   KAFKA_VERSION        a Kafka version to use instead of the pinned one
#   KAFKA_RUNTIME        auto (default: docker when `docker info` and `docker compose`
#                        work, else local), docker or local
#   KAFKA_READY_TIMEOUT  seconds to wait for the broker to answer (default 120)
#   KAFKA_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL on `down` (default 30)
#   KAFKA_HEAP_OPTS      heap of the local broker (default -Xms1g -Xmx1g, as Kafka's own
#                        start script sets it: a heap that never grows or shrinks)
#   KAFKA_TOOL_OPTS      JVM options of `java-class` (default -Xmx512m)
#   JAVA_HOME            the Java, 17 or newer, to run with (default: java on PATH)

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMPOSE_FILE=$ROOT/docker-compose.yml
POM=$ROOT/tools/kafka/pom.xml
BROKER_LOG_CONFIG=$ROOT/tools/kafka/log4j2-broker.properties
TOOLS_LOG_CONFIG=$ROOT/tools/kafka/log4j2-tools.properties

CACHE=$ROOT/.cache/kafka
DATA_DIR=$CACHE/data
LOG_DIR=$CACHE/logs
CONFIG=$CACHE/server.properties
PROBE_CONFIG=$CACHE/probe.properties
PID_FILE=$CACHE/kafka.pid
DOCKER_MARK=$CACHE/docker.started

# The local broker always listens here; BOOTSTRAP may name another broker to reuse.
LOCAL_HOST=127.0.0.1
LOCAL_PORT=9092
CONTROLLER_PORT=9093

BOOTSTRAP=${BOOTSTRAP:-localhost:9092}
KAFKA_RUNTIME=${KAFKA_RUNTIME:-auto}
READY_TIMEOUT=${KAFKA_READY_TIMEOUT:-120}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms1g -Xmx1g}
TOOL_OPTS=${KAFKA_TOOL_OPTS:--Xmx512m}

say() {
    echo "kafka: $*" >&2
}

die() {
    echo "error: $*" >&2
    exit 1
}

# The pin: the default of `image: apache/kafka:${KAFKA_VERSION:-X.Y.Z}` in docker-compose.yml.
pinned_version() {
    local version
    # shellcheck disable=SC2016 # the ${...} is text of the compose file, not bash
    version=$(sed -n 's/^ *image: *apache\/kafka:${KAFKA_VERSION:-\([^}]*\)}.*/\1/p' \
        "$COMPOSE_FILE")
    [[ -n $version ]] ||
        die "$COMPOSE_FILE: no 'image: apache/kafka:\${KAFKA_VERSION:-VERSION}' line to read" \
            "the pinned Kafka version from; restore it or set KAFKA_VERSION"
    echo "$version"
}

KAFKA_VERSION=${KAFKA_VERSION:-$(pinned_version)}
LIBS=$CACHE/$KAFKA_VERSION/libs
POM_DIGEST=$(sha256sum <"$POM" | cut -c1-16)

# First host:port of BOOTSTRAP, for the cheap TCP check.
FIRST_SERVER=${BOOTSTRAP%%,*}
BOOTSTRAP_HOST=${FIRST_SERVER%:*}
BOOTSTRAP_PORT=${FIRST_SERVER##*:}

find_java() {
    JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
    command -v "$JAVA" >/dev/null 2>&1 ||
        die "no Java found ($JAVA); install Java 17 (apt-get install openjdk-17-jre-headless)" \
            "or set JAVA_HOME"

    local major
    major=$("$JAVA" -XshowSettings:properties -version 2>&1 |
        sed -n 's/^ *java.specification.version = //p')
    major=${major#1.}
    if [[ ! $major =~ ^[0-9]+$ ]] || ((major < 17)); then
        die "Kafka $KAFKA_VERSION needs Java 17 or newer, but $JAVA is Java '$major';" \
            "set JAVA_HOME to a Java 17"
    fi
}

# The jars are fetched for this version and this pom; a changed pom fetches them again.
jars_ready() {
    [[ -f $LIBS/.complete && $(<"$LIBS/.complete") == "$POM_DIGEST" ]]
}

# Fetches the broker, Kafka's tools and a logging backend once per version. A lock keeps two
# callers from fetching at once; the jars land in a staging folder first, so an interrupted
# fetch never looks complete.
fetch_jars() {
    jars_ready && return 0
    mkdir -p "$CACHE"
    exec 9>"$CACHE/fetch.lock"
    flock 9
    if jars_ready; then
        exec 9>&-
        return 0
    fi

    command -v mvn >/dev/null 2>&1 ||
        die "Maven (mvn) is needed to fetch Kafka's jars; install it (apt-get install maven)"
    say "fetching Apache Kafka $KAFKA_VERSION from Maven Central into $LIBS"
    local staging=$LIBS.partial started=$SECONDS fetch_log=$CACHE/fetch.log
    rm -rf "$staging"
    if ! mvn -B -ntp -Dstyle.color=never -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DoutputDirectory="$staging" >"$fetch_log" 2>&1; then
        grep -m 1 '^\[ERROR\] .' "$fetch_log" >&2 || true
        rm -rf "$staging"
        die "Maven could not fetch Apache Kafka $KAFKA_VERSION with $POM (full output in" \
            "$fetch_log); check that Maven Central is reachable and that the version exists"
    fi
    echo "$POM_DIGEST" >"$staging/.complete"
    rm -rf "$LIBS"
    mv "$staging" "$LIBS"
    local jars=("$LIBS"/*.jar)
    say "fetched ${#jars[@]} jars in $((SECONDS - started))s"
    exec 9>&-
}

run_tool() {
    # shellcheck disable=SC2086 # TOOL_OPTS holds several options
    "$JAVA" $TOOL_OPTS -Dlog4j2.configurationFile="$TOOLS_LOG_CONFIG" -cp "$LIBS/*" "$@"
}

port_open() {
    timeout 3 bash -c "exec 3<>/dev/tcp/$BOOTSTRAP_HOST/$BOOTSTRAP_PORT" 2>/dev/null
}

# A broker answers when its port accepts connections and, where the jars are at hand, a
# metadata request (listing topics through Kafka's own TopicCommand) succeeds.
broker_answers() {
    port_open || return 1
    [[ -n ${JAVA:-} ]] && jars_ready || return 0

    if [[ ! -f $PROBE_CONFIG ]]; then
        printf '%s\n' 'request.timeout.ms=5000' 'default.api.timeout.ms=8000' \
            'socket.connection.setup.timeout.ms=2000' >"$PROBE_CONFIG"
    fi
    timeout 30 "$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx128m \
        -Dlog4j2.configurationFile="$TOOLS_LOG_CONFIG" -cp "$LIBS/*" \
        org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
        --command-config "$PROBE_CONFIG" --list >/dev/null 2>&1
}

# The pid of the broker that `up` started here, if it still runs; nothing otherwise. The
# command line must name this checkout's config, so a recycled pid is never taken for ours.
our_pid() {
    [[ -f $PID_FILE ]] || return 0
    local pid
    pid=$(<"$PID_FILE")
    if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" |
        grep -qF "kafka.Kafka $CONFIG"; then
        echo "$pid"
    fi
}

# True while the process runs; a child that exited but was not reaped yet counts as gone.
alive() {
    local stat
    stat=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ ${stat:0:1} != Z ]]
}

use_docker() {
    case $KAFKA_RUNTIME in
        docker) return 0 ;;
        local) return 1 ;;
        auto)
            command -v docker >/dev/null 2>&1 && timeout 10 docker info >/dev/null 2>&1 &&
                docker compose version >/dev/null 2>&1
            ;;
        *) die "KAFKA_RUNTIME must be auto, docker or local, not '$KAFKA_RUNTIME'" ;;
    esac
}

# Shows what went wrong in the local broker's run whose log starts at byte OFFSET: its first
# errors, and whatever the JVM itself printed.
show_errors() {
    local offset=${1:-0} log=$LOG_DIR/server.log
    if [[ -f $log ]]; then
        (($(stat -c %s "$log") >= offset)) || offset=0
        tail -c +$((offset + 1)) "$log" |
            grep -m 6 -E '^[^ ]+ +(ERROR|FATAL) |^Caused by: ' >&2 || true
    fi
    if [[ -s $LOG_DIR/kafka.out ]]; then
        tail -n 15 "$LOG_DIR/kafka.out" >&2
    fi
}

# Whether the local broker logged its start after byte OFFSET of server.log. Probing before that
# only costs a JVM start per try, since the port accepts connections well before it answers.
logged_start() {
    local offset=$1 log=$LOG_DIR/server.log
    [[ -f $log ]] || return 1
    (($(stat -c %s "$log") >= offset)) || offset=0
    # grep reads to the end: `grep -q` would stop at the first match and kill tail with SIGPIPE,
    # which pipefail turns into a failure once the log outgrows a pipe's buffer.
    tail -c +$((offset + 1)) "$log" | grep -F 'Kafka Server started' >/dev/null
}

# Waits until a broker answers. Given the pid of a local broker and the size its log had when
# it was launched, waits for its start line first, and stops early if it dies.
wait_ready() {
    local pid=${1:-} log_offset=${2:-0} started_ns deadline=$((SECONDS + READY_TIMEOUT))
    started_ns=$(date +%s%N)
    until [[ -z $pid ]] || logged_start "$log_offset" && broker_answers; do
        if [[ -n $pid ]] && ! alive "$pid"; then
            show_errors "$log_offset"
            rm -f "$PID_FILE"
            die "the Kafka broker (pid $pid) exited while starting; see the logs in $LOG_DIR"
        fi
        if ((SECONDS >= deadline)); then
            [[ -n $pid ]] && show_errors "$log_offset"
            die "no Kafka broker answered on $BOOTSTRAP within ${READY_TIMEOUT}s; see the" \
                "logs in $LOG_DIR (raise KAFKA_READY_TIMEOUT on a slow machine)"
        fi
        sleep 0.5
    done
    local waited_ms=$((($(date +%s%N) - started_ns) / 1000000))
    say "broker ready on $BOOTSTRAP (waited $((waited_ms / 1000)).$(printf '%03d' \
        $((waited_ms % 1000)))s)"
}

write_config() {
    cat >"$CONFIG" <<EOF
# Written by scripts/kafka-local.sh on each start; edit the script, not this file.
node.id=1
process.roles=broker,controller
controller.quorum.voters=1@$LOCAL_HOST:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$LOCAL_HOST:$LOCAL_PORT,CONTROLLER://$LOCAL_HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://localhost:$LOCAL_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA_DIR

# simrun creates its topics itself; a typo in a topic name should fail, not make a topic.
auto.create.topics.enable=false
num.partitions=3

# One broker: every internal topic has a single replica, and a few partitions (50 by default)
# make the broker start faster.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

# A test and benchmark broker: keep a day of data at most.
log.retention.hours=24
EOF
}

# Formats the storage once, with a fresh cluster id; later starts reuse it.
format_storage() {
    [[ -f $DATA_DIR/meta.properties ]] && return 0
    local cluster_id
    cluster_id=$(run_tool kafka.tools.StorageTool random-uuid) ||
        die "Kafka's StorageTool could not make a cluster id"
    say "formatting $DATA_DIR (cluster id $cluster_id)"
    run_tool kafka.tools.StorageTool format --config "$CONFIG" --cluster-id "$cluster_id" \
        >/dev/null ||
        die "Kafka's StorageTool could not format $DATA_DIR; wipe it with" \
            "'scripts/kafka-local.sh clean' and retry"
}

up_local() {
    local pid
    pid=$(our_pid)
    if [[ -n $pid ]]; then
        say "the local broker (pid $pid) is still starting; waiting for it"
        wait_ready "$pid"
        return
    fi
    if [[ $BOOTSTRAP_PORT != "$LOCAL_PORT" ||
        ! $BOOTSTRAP_HOST =~ ^(localhost|127\.0\.0\.1)$ ]]; then
        die "nothing answers on BOOTSTRAP=$BOOTSTRAP, and the local broker can only serve" \
            "localhost:$LOCAL_PORT; start that broker or unset BOOTSTRAP"
    fi
    if port_open; then
        die "something listens on $BOOTSTRAP but does not answer as a Kafka broker; stop it" \
            "(see 'ss -ltnp | grep :$LOCAL_PORT') and run this again"
    fi

    fetch_jars
    mkdir -p "$DATA_DIR" "$LOG_DIR"
    write_config
    format_storage

    local log_offset=0
    [[ -f $LOG_DIR/server.log ]] && log_offset=$(stat -c %s "$LOG_DIR/server.log")
    # shellcheck disable=SC2086 # HEAP_OPTS holds several options
    # The GC log (pauses with their wall-clock times) tells broker stalls from client ones.
    setsid nohup "$JAVA" $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -Xlog:gc:file="$LOG_DIR/gc.log":time,uptime:filecount=3,filesize=10M \
        -Djava.awt.headless=true -Dkafka.logs.dir="$LOG_DIR" \
        -Dlog4j2.configurationFile="$BROKER_LOG_CONFIG" -cp "$LIBS/*" \
        kafka.Kafka "$CONFIG" >"$LOG_DIR/kafka.out" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
    say "started Apache Kafka $KAFKA_VERSION (KRaft, broker+controller), pid $pid, on" \
        "$LOCAL_HOST:$LOCAL_PORT; logs in $LOG_DIR/server.log"
    wait_ready "$pid" "$log_offset"
}

up_docker() {
    docker compose version >/dev/null 2>&1 ||
        die "no 'docker compose' here; install Docker's compose plugin, or run the broker" \
            "without Docker: KAFKA_RUNTIME=local"
    mkdir -p "$CACHE"
    say "starting Apache Kafka $KAFKA_VERSION with docker compose ($COMPOSE_FILE)"
    KAFKA_VERSION=$KAFKA_VERSION docker compose -f "$COMPOSE_FILE" up -d --wait ||
        die "docker compose could not start Kafka; see 'docker logs kafka'"
    touch "$DOCKER_MARK"
    wait_ready
}

cmd_up() {
    if jars_ready; then
        find_java
    fi
    if broker_answers; then
        say "reusing the Kafka broker that already answers on $BOOTSTRAP"
        return
    fi

    if use_docker; then
        up_docker
    else
        find_java
        up_local
    fi
}

cmd_down() {
    local pid stopped=no
    pid=$(our_pid)
    if [[ -n $pid ]]; then
        say "stopping the local broker (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + STOP_TIMEOUT))
        while alive "$pid" && ((SECONDS < deadline)); do
            sleep 0.5
        done
        if alive "$pid"; then
            say "no exit ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            while alive "$pid"; do
                sleep 0.2
            done
        fi
        stopped=yes
    fi
    rm -f "$PID_FILE"

    if [[ -f $DOCKER_MARK ]]; then
        say "stopping the broker started with docker compose"
        KAFKA_VERSION=$KAFKA_VERSION docker compose -f "$COMPOSE_FILE" down ||
            die "docker compose could not stop Kafka; try 'docker rm -f kafka'"
        rm -f "$DOCKER_MARK"
        stopped=yes
    fi

    if [[ $stopped == yes ]]; then
        say "stopped"
    elif port_open; then
        say "the broker on $BOOTSTRAP was not started by this script; leaving it alone"
    else
        say "no broker started by this script is running"
    fi
}

cmd_status() {
    jars_ready && find_java
    local pid
    pid=$(our_pid)
    if broker_answers; then
        echo "a Kafka broker answers on $BOOTSTRAP"
        if [[ -n $pid ]]; then
            echo "it is the local broker started here: pid $pid, logs in $LOG_DIR"
        elif [[ -f $DOCKER_MARK ]]; then
            echo "it runs in the docker container 'kafka' started here"
        fi
        return 0
    fi
    echo "no Kafka broker answers on $BOOTSTRAP"
    if [[ -n $pid ]]; then
        echo "the local broker (pid $pid) runs but does not answer yet; logs in $LOG_DIR"
    fi
    return 1
}

cmd_logs() {
    if [[ -f $DOCKER_MARK ]]; then
        exec docker logs ${1:+--follow} --tail 50 kafka
    fi
    [[ -f $LOG_DIR/server.log ]] ||
        die "no broker log at $LOG_DIR/server.log; start the broker with 'make kafka-up'"
    if [[ ${1:-} == -f ]]; then
        exec tail -n 50 -F "$LOG_DIR/server.log"
    fi
    exec tail -n 50 "$LOG_DIR/server.log"
}

cmd_clean() {
    cmd_down
    say "wiping $DATA_DIR and $LOG_DIR"
    rm -rf "$DATA_DIR" "$LOG_DIR" "$CONFIG" "$PROBE_CONFIG"
}

verb=${1:-}
(($# > 0)) && shift
case $verb in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    wait)
        jars_ready && find_java
        wait_ready
        ;;
    logs) cmd_logs "$@" ;;
    clean) cmd_clean ;;
    fetch) fetch_jars ;;
    classpath)
        fetch_jars
        echo "$LIBS/*"
        ;;
    java-class)
        (($# > 0)) || die "java-class needs a class name, e.g. org.apache.kafka.tools.TopicCommand"
        find_java
        fetch_jars
        run_tool "$@"
        ;;
    version) echo "$KAFKA_VERSION" ;;
    with-broker)
        (($# > 0)) || die "with-broker needs a command, e.g. with-broker make integration-test"
        started=no
        if ! cmd_status >/dev/null; then
            cmd_up
            started=yes
        fi
        status=0
        "$@" || status=$?
        [[ $started == yes ]] && cmd_down
        exit "$status"
        ;;
    *)
        sed -n '/^# usage:/,/^$/s/^# \{0,1\}//p' "$0" >&2
        [[ -z $verb || $verb == help || $verb == -h || $verb == --help ]] ||
            die "unknown verb '$verb'"
        ;;
esac
