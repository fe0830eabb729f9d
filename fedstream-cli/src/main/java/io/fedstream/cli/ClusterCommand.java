package io.fedstream.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.adapter.AggregationJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.Node;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/**
 * {@code ./fedstream cluster up|submit|status|add-taskmanager|down}: a real Flink session cluster
 * and a KRaft Kafka cluster on this machine ({@link LocalCluster}).
 */
@Command(
        name = "cluster",
        mixinStandardHelpOptions = true,
        description = {
            "A Flink 2 standalone session cluster (JobManager and TaskManagers, each its own JVM,"
                    + " web UI, checkpoints in a directory) and a KRaft Kafka cluster of N brokers"
                    + " on this machine: a real deployment without Kubernetes. Everything lives in"
                    + " --dir; clusters in different directories use different ports."
        },
        subcommands = {
            ClusterCommand.Up.class,
            ClusterCommand.Submit.class,
            ClusterCommand.Status.class,
            ClusterCommand.AddTaskManager.class,
            ClusterCommand.Down.class
        })
final class ClusterCommand implements Runnable {

    @Option(
            names = "--dir",
            defaultValue = "fedstream-cluster",
            scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "The cluster's directory (default ${DEFAULT-VALUE}).")
    Path dir;

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(
            name = "up",
            mixinStandardHelpOptions = true,
            description =
                    "Starts the brokers, creates the topics (replication factor 3, min.insync.replicas"
                            + " 2, fewer with fewer brokers), then the JobManager and the"
                            + " TaskManagers; returns when all are registered.")
    static final class Up implements Callable<Integer> {
        @ParentCommand ClusterCommand parent;

        @Option(
                names = "--taskmanagers",
                defaultValue = "2",
                description = "TaskManagers (default ${DEFAULT-VALUE}).")
        int taskManagers;

        @Option(
                names = "--slots",
                defaultValue = "1",
                description = "Slots per TaskManager (default ${DEFAULT-VALUE}).")
        int slots;

        @Option(
                names = "--brokers",
                defaultValue = "3",
                description = "Kafka brokers (default ${DEFAULT-VALUE}).")
        int brokers;

        @Option(
                names = "--taskmanager-memory",
                defaultValue = "1600m",
                description = "taskmanager.memory.process.size (default ${DEFAULT-VALUE}).")
        String tmMemory;

        @Override
        public Integer call() throws Exception {
            if (taskManagers < 1 || brokers < 1 || slots < 1) {
                throw new picocli.CommandLine.ParameterException(
                        new picocli.CommandLine(this),
                        "--taskmanagers, --slots and --brokers must be at least 1");
            }
            LocalCluster c =
                    LocalCluster.up(
                            parent.dir,
                            new LocalCluster.Spec(taskManagers, slots, brokers, tmMemory),
                            System.out);
            System.out.println("bootstrap servers: " + c.bootstrap());
            System.out.println("logs, checkpoints and data: " + c.dir());
            return 0;
        }
    }

    @Command(
            name = "submit",
            mixinStandardHelpOptions = true,
            description =
                    "Submits the shaded job jar through the JobManager's REST API, as flink run"
                            + " --detached does, with the cluster's Kafka; prints the job id.")
    static final class Submit implements Callable<Integer> {
        @ParentCommand ClusterCommand parent;

        @Option(
                names = "--federations",
                required = true,
                description = "JSON file of federation specs (./fedstream spec prints one).")
        Path federations;

        @Option(
                names = "--site-keys",
                description = "Registry of the sites' public keys (./fedstream keygen).")
        Path siteKeys;

        @Option(
                names = "--parallelism",
                description = "The job's parallelism (default: the cluster's slots).")
        Integer parallelism;

        @Option(
                names = "--from-savepoint",
                description = "Savepoint or retained checkpoint to start from.")
        String savepoint;

        @Option(
                names = "--set",
                description = "Any job option as key=value, e.g. --set fedstream.round.quorum=3.")
        Map<String, String> settings = new LinkedHashMap<>();

        @Override
        public Integer call() throws Exception {
            LocalCluster c = LocalCluster.open(parent.dir);
            for (Path f :
                    siteKeys == null ? List.of(federations) : List.of(federations, siteKeys)) {
                if (!Files.isRegularFile(f)) {
                    throw new picocli.CommandLine.ParameterException(
                            new picocli.CommandLine(this), "no such file: " + f);
                }
            }
            String jar = System.getProperty("fedstream.job.jar", "");
            if (jar.isEmpty() || !Files.isRegularFile(Path.of(jar))) {
                throw new IllegalStateException(
                        "no job jar (fedstream.job.jar): run this through ./fedstream");
            }
            int p = parallelism != null ? parallelism : c.taskManagers().size() * c.slots();
            List<String> args = new ArrayList<>();
            Map<String, String> all = new LinkedHashMap<>();
            all.put(FedStreamOptions.BOOTSTRAP_SERVERS.key(), c.bootstrap());
            all.put(
                    FedStreamOptions.FEDERATIONS_FILE.key(),
                    federations.toAbsolutePath().toString());
            if (siteKeys != null) {
                all.put(
                        FedStreamOptions.SITE_KEYS_FILE.key(),
                        siteKeys.toAbsolutePath().toString());
            }
            all.put(FedStreamOptions.PARALLELISM.key(), Integer.toString(p));
            all.putAll(settings);
            all.forEach((k, v) -> args.addAll(List.of("--" + k, v)));
            String jid = c.submit(Path.of(jar), AggregationJob.class.getName(), args, savepoint);
            System.out.println(jid);
            return 0;
        }
    }

    @Command(
            name = "status",
            mixinStandardHelpOptions = true,
            description = "Brokers, TaskManagers, jobs and their states.")
    static final class Status implements Callable<Integer> {
        @ParentCommand ClusterCommand parent;

        @Override
        public Integer call() throws Exception {
            LocalCluster c = LocalCluster.open(parent.dir);
            System.out.println("directory: " + c.dir());
            System.out.println("processes: " + c.processes());
            try (Admin admin = c.admin()) {
                List<String> nodes = new ArrayList<>();
                for (Node n : admin.describeCluster().nodes().get()) {
                    nodes.add(n.id() + "@" + n.host() + ":" + n.port());
                }
                System.out.println(
                        "Kafka brokers (" + nodes.size() + "): " + String.join(" ", nodes));
            } catch (Exception e) {
                System.out.println(
                        "Kafka: not reachable at " + c.bootstrap() + " (" + e.getMessage() + ")");
            }
            try {
                JsonNode tms = c.rest("/taskmanagers").path("taskmanagers");
                System.out.println("Flink web UI: " + c.restUrl());
                System.out.println("TaskManagers (" + tms.size() + "):");
                for (JsonNode tm : tms) {
                    System.out.printf(
                            "  %s slots %d free %d%n",
                            tm.path("id").asText(),
                            tm.path("slotsNumber").asInt(),
                            tm.path("freeSlots").asInt());
                }
                JsonNode jobs = c.rest("/jobs/overview").path("jobs");
                System.out.println("jobs (" + jobs.size() + "):");
                for (JsonNode j : jobs) {
                    System.out.printf(
                            "  %s %s %s%n",
                            j.path("jid").asText(),
                            j.path("state").asText(),
                            j.path("name").asText());
                }
            } catch (Exception e) {
                System.out.println(
                        "Flink: not reachable at " + c.restUrl() + " (" + e.getMessage() + ")");
            }
            return 0;
        }
    }

    @Command(
            name = "add-taskmanager",
            mixinStandardHelpOptions = true,
            description = "Starts one more TaskManager (e.g. to replace a failed one).")
    static final class AddTaskManager implements Callable<Integer> {
        @ParentCommand ClusterCommand parent;

        @Override
        public Integer call() throws Exception {
            LocalCluster c = LocalCluster.open(parent.dir);
            System.out.println(c.startTaskManager());
            return 0;
        }
    }

    @Command(
            name = "down",
            mixinStandardHelpOptions = true,
            description =
                    "Stops every process of the cluster and deletes its directory (data, logs, checkpoints).")
    static final class Down implements Callable<Integer> {
        @ParentCommand ClusterCommand parent;

        @Override
        public Integer call() throws Exception {
            LocalCluster c = LocalCluster.open(parent.dir);
            c.down();
            System.out.println("stopped; deleted " + c.dir());
            return 0;
        }
    }
}
