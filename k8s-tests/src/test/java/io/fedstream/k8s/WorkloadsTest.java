package io.fedstream.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyEgressRule;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fedstream.cli.WorkerArgs;
import io.fedstream.job.FedStreamOptions;
import io.fedstream.job.PromptFederation;
import io.fedstream.job.prompt.PromptOptions;
import io.fedstream.schemas.FederationSpec;
import io.fedstream.schemas.SiteKeys;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.kafka.listener.GenericKafkaListener;
import io.strimzi.api.kafka.model.user.KafkaUser;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.kubernetes.operator.api.FlinkDeployment;
import org.apache.flink.kubernetes.operator.api.spec.FlinkDeploymentSpec;
import org.apache.flink.kubernetes.operator.api.spec.UpgradeMode;
import org.apache.flink.util.TimeUtils;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * The job's FlinkDeployment and the workers' Deployments agree with the code and with the rest of
 * the overlay: arguments, mounted files, referenced Secrets and ConfigMaps, images, probes and
 * network policies.
 */
class WorkloadsTest {
    static List<String> overlays = K8s.OVERLAYS;

    static final String FLINK_MAIN = "flink-main-container";

    // ---- the jobs -----------------------------------------------------------------------------

    /**
     * A FlinkDeployment the manifests must hold: its entry class, the options its arguments may
     * set, the files they name, and the TaskManagers production needs at least.
     */
    record Job(
            String name,
            String entryClass,
            Set<String> options,
            List<ConfigOption<String>> files,
            int productionTaskManagers,
            boolean ingress) {}

    static final Job ADAPTER_JOB =
            new Job(
                    "fedstream-aggregator",
                    "io.fedstream.job.adapter.AggregationJob",
                    keys(FedStreamOptions.all()),
                    List.of(
                            FedStreamOptions.CLIENT_PROPERTIES_FILE,
                            FedStreamOptions.FEDERATIONS_FILE,
                            FedStreamOptions.SITE_KEYS_FILE),
                    3,
                    true);

    static final Job PROMPT_JOB =
            new Job(
                    "fedstream-prompt-aggregator",
                    "io.fedstream.job.prompt.PromptAggregationJob",
                    keys(PromptOptions.all(), PromptOptions.shared()),
                    List.of(
                            FedStreamOptions.CLIENT_PROPERTIES_FILE,
                            PromptOptions.FEDERATIONS_FILE,
                            PromptOptions.EMBEDDINGS_FILE),
                    1,
                    false);

    @SafeVarargs
    private static Set<String> keys(List<ConfigOption<?>>... options) {
        return Stream.of(options)
                .flatMap(List::stream)
                .map(ConfigOption::key)
                .collect(Collectors.toSet());
    }

    @ParameterizedTest
    @FieldSource("overlays")
    void theFlinkDeploymentsAreTheAdapterJobAndThePromptJob(String overlay) {
        assertThat(K8s.bound(K8s.render(overlay), FlinkDeployment.class))
                .extracting(f -> f.getMetadata().getName())
                .containsExactlyInAnyOrder(ADAPTER_JOB.name(), PROMPT_JOB.name());
    }

    @ParameterizedTest
    @FieldSource("overlays")
    void flinkDeploymentRunsTheJobWithDurableStateHaAndMetrics(String overlay) {
        var rendered = K8s.render(overlay);
        for (Job job : List.of(ADAPTER_JOB, PROMPT_JOB)) {
            FlinkDeployment fd = flinkDeployment(rendered, job.name());
            Map<String, Object> raw = rawOf(rendered, "FlinkDeployment", job.name());
            checkJob(overlay, rendered, job, fd, raw);
        }
    }

    private static void checkJob(
            String overlay,
            List<Map<String, Object>> rendered,
            Job job,
            FlinkDeployment fd,
            Map<String, Object> raw) {
        FlinkDeploymentSpec spec = fd.getSpec();
        assertThat(path(raw, "spec", "flinkVersion")).isEqualTo("v2_2");
        assertThat(spec.getImage()).isEqualTo("fedstream/fedstream-job:" + K8s.projectVersion());
        assertThat(spec.getJob().getJarURI()).isEqualTo("local:///opt/flink/usrlib/flink-jobs.jar");
        assertThat(spec.getJob().getEntryClass()).isEqualTo(job.entryClass());
        assertThat(spec.getJob().getUpgradeMode()).isEqualTo(UpgradeMode.SAVEPOINT);
        assertThat(spec.getIngress() != null).as("ingress").isEqualTo(job.ingress());

        Map<String, String> conf = spec.getFlinkConfiguration();
        assertThat(conf)
                .containsEntry("state.backend.type", "rocksdb")
                .containsEntry("high-availability.type", "kubernetes")
                .containsEntry(
                        "metrics.reporter.prom.factory.class",
                        "org.apache.flink.metrics.prometheus.PrometheusReporterFactory")
                .containsEntry("metrics.reporter.prom.port", "9249")
                .containsKey("execution.checkpointing.interval");
        List<String> dirs =
                List.of(
                        conf.get("execution.checkpointing.dir"),
                        conf.get("execution.checkpointing.savepoint-dir"),
                        conf.get("high-availability.storageDir"));
        assertThat(dirs).allMatch(d -> d != null && d.startsWith("s3://"));
        assertThat(dirs.stream().map(d -> d.split("/")[2]).distinct()).hasSize(1);
        assertThat(dirs.get(0)).contains("-" + (overlay.equals("dev") ? "dev" : "prod"));
        for (String key : conf.keySet()) {
            assertThat(FlinkKeys.isCurrentOption(key))
                    .as("%s is a current (not deprecated) Flink 2.2 option", key)
                    .isTrue();
        }

        // arguments: every key an option of the job, consistent with the deployment
        Map<String, String> args = pairs(List.of(spec.getJob().getArgs()));
        assertThat(args.keySet()).allMatch(job.options()::contains);
        Configuration jobConf = Configuration.fromMap(args);
        assertThat(jobConf.get(FedStreamOptions.PARALLELISM))
                .isEqualTo(spec.getJob().getParallelism());
        assertThat(jobConf.get(FedStreamOptions.CHECKPOINT_INTERVAL))
                .isEqualTo(TimeUtils.parseDuration(conf.get("execution.checkpointing.interval")));
        assertThat(jobConf.get(FedStreamOptions.TRANSACTION_TIMEOUT))
                .isGreaterThan(
                        jobConf.get(FedStreamOptions.CHECKPOINT_INTERVAL)
                                .plus(Duration.ofMinutes(5)));
        int slots = Integer.parseInt(conf.getOrDefault("taskmanager.numberOfTaskSlots", "1"));
        assertThat(spec.getTaskManager().getReplicas() * slots)
                .isGreaterThanOrEqualTo(spec.getJob().getParallelism());
        assertThat(jobConf.get(FedStreamOptions.BOOTSTRAP_SERVERS)).isEqualTo(bootstrap(rendered));
        if (overlay.equals("production")) {
            assertThat(spec.getJobManager().getReplicas()).isGreaterThanOrEqualTo(2);
            assertThat(spec.getTaskManager().getReplicas())
                    .isGreaterThanOrEqualTo(job.productionTaskManagers());
        } else {
            assertThat(spec.getJobManager().getReplicas()).isEqualTo(1);
        }

        // files named in the arguments are mounted into the main container
        PodSpec pod = fd.getSpec().getPodTemplate().getSpec();
        Container main = container(pod, FLINK_MAIN);
        Map<String, ConfigMap> configMaps = byName(K8s.bound(rendered, ConfigMap.class));
        for (var option : job.files()) {
            String file = jobConf.get(option);
            assertThat(file).as(option.key()).isNotNull();
            VolumeMount m = mountFor(main, file);
            Volume v = volume(pod, m.getName());
            if (v.getConfigMap() != null) {
                ConfigMap cm = configMaps.get(v.getConfigMap().getName());
                assertThat(cm.getData()).containsKey(Path.of(file).getFileName().toString());
            } else {
                assertThat(v.getEmptyDir()).as(file).isNotNull();
                // written by an init container mounting the same volume
                assertThat(pod.getInitContainers())
                        .anySatisfy(
                                c ->
                                        assertThat(c.getVolumeMounts())
                                                .anyMatch(x -> x.getName().equals(v.getName())));
            }
        }
        assertThat(main.getPorts())
                .anyMatch(p -> p.getContainerPort() == 9249 && "metrics".equals(p.getName()));
        if (job == PROMPT_JOB) {
            // the embedding table is written where the job reads it, by the real command
            String table = jobConf.get(PromptOptions.EMBEDDINGS_FILE);
            Container init =
                    pod.getInitContainers().stream()
                            .filter(c -> c.getName().equals("prompt-embeddings"))
                            .findFirst()
                            .orElseThrow();
            assertThat(WorkerArgs.parsePromptEmbeddingsOut(init.getArgs())).isEqualTo(table);
            assertThat(mountFor(init, table).getName()).isEqualTo(mountFor(main, table).getName());
        }
    }

    @ParameterizedTest
    @FieldSource("overlays")
    void theJobsConfigMapHoldsValidFederationsAndTheSitesKeys(String overlay, @TempDir Path tmp)
            throws Exception {
        var rendered = K8s.render(overlay);
        ConfigMap cm = byName(K8s.bound(rendered, ConfigMap.class)).get("fedstream-job-config");
        Path federations = tmp.resolve("federations.json");
        Files.writeString(federations, cm.getData().get("federations.json"));
        assertThat(FederationSpec.readAll(federations)).isNotEmpty();
        Path keys = tmp.resolve("site-keys.json");
        Files.writeString(keys, cm.getData().get("site-keys.json"));
        SiteKeys registry = SiteKeys.read(keys);
        assertThat(registry.sites().keySet()).isEqualTo(siteUsers(rendered));

        ConfigMap prompt =
                byName(K8s.bound(rendered, ConfigMap.class)).get("fedstream-prompt-job-config");
        Path promptFederations = tmp.resolve("prompt-federations.json");
        Files.writeString(
                promptFederations,
                prompt.getData().get(promptFederations.getFileName().toString()));
        assertThat(PromptFederation.readAll(promptFederations)).isNotEmpty();
    }

    // ---- workers ------------------------------------------------------------------------------

    @ParameterizedTest
    @FieldSource("overlays")
    void oneWorkerPerSiteWithItsCredentialsKeyProbesAndResources(String overlay) {
        var rendered = K8s.render(overlay);
        List<Deployment> workers = deployments(rendered, WORKER_APP);
        Set<String> sites = siteUsers(rendered);
        Map<String, Deployment> bySite = new HashMap<>();
        Set<Integer> indexes = new HashSet<>();
        for (Deployment d : workers) {
            PodSpec pod = d.getSpec().getTemplate().getSpec();
            Container c = container(pod, "worker");
            assertThat(c.getImage())
                    .isEqualTo("fedstream/fedstream-worker:" + K8s.projectVersion());
            WorkerArgs.Parsed args = WorkerArgs.parse(c.getArgs());
            assertThat(bySite.put(args.siteId(), d)).as("one worker per site").isNull();
            assertThat(indexes.add(args.siteIndex())).isTrue();
            assertThat(args.sites()).isEqualTo(sites.size());
            assertThat(args.bootstrap()).isEqualTo(bootstrap(rendered));
            assertThat(d.getSpec().getReplicas()).isEqualTo(1);
            assertThat(d.getSpec().getTemplate().getMetadata().getLabels())
                    .containsEntry("fedstream.io/site", args.siteId());

            // Kafka credentials: the site's own Strimzi user secret, written to --kafka-config
            List<String> secretsOfPod = secretRefs(pod);
            assertThat(secretsOfPod).contains(args.siteId(), args.siteId() + "-signing-key");
            assertThat(secretsOfPod)
                    .allMatch(
                            s ->
                                    s.equals(args.siteId())
                                            || s.equals(args.siteId() + "-signing-key"));
            Volume kafkaConfig = volume(pod, mountFor(c, args.kafkaConfig()).getName());
            assertThat(kafkaConfig.getEmptyDir()).isNotNull();
            Volume key = volume(pod, mountFor(c, args.signingKey()).getName());
            assertThat(key.getSecret().getSecretName()).isEqualTo(args.siteId() + "-signing-key");
            assertThat(key.getSecret().getItems())
                    .anyMatch(
                            i ->
                                    i.getPath()
                                            .equals(
                                                    Path.of(args.signingKey())
                                                            .getFileName()
                                                            .toString()));
            assertThat(args.keyId()).isEqualTo("$(SIGNING_KEY_ID)");
            assertThat(c.getEnv()).anyMatch(e -> e.getName().equals("SIGNING_KEY_ID"));

            // probes on the health server
            assertThat(args.healthPort()).isNotNull();
            assertThat(c.getPorts())
                    .anyMatch(
                            p ->
                                    p.getContainerPort().equals(args.healthPort())
                                            && "health".equals(p.getName()));
            assertThat(c.getLivenessProbe().getHttpGet().getPath()).isEqualTo("/healthz");
            assertThat(c.getReadinessProbe().getHttpGet().getPath()).isEqualTo("/readyz");
            assertThat(c.getLivenessProbe().getHttpGet().getPort().getStrVal()).isEqualTo("health");
            assertThat(c.getReadinessProbe().getHttpGet().getPort().getStrVal())
                    .isEqualTo("health");

            for (Container any : concat(pod.getInitContainers(), pod.getContainers())) {
                assertThat(any.getResources().getRequests()).containsKeys("cpu", "memory");
                assertThat(any.getResources().getLimits()).containsKeys("cpu", "memory");
            }
        }
        assertThat(bySite.keySet()).isEqualTo(sites);
        assertThat(indexes).hasSameSizeAs(sites);
        assertThat(indexes).allMatch(i -> i >= 0 && i < sites.size());
    }

    @ParameterizedTest
    @FieldSource("overlays")
    void onePromptWorkerPerSiteWithItsOwnKafkaUserAndData(String overlay) {
        var rendered = K8s.render(overlay);
        Set<String> sites = siteUsers(rendered);
        Set<String> users =
                K8s.bound(rendered, KafkaUser.class).stream()
                        .map(u -> u.getMetadata().getName())
                        .collect(Collectors.toSet());
        Map<String, Deployment> bySite = new HashMap<>();
        Set<Integer> indexes = new HashSet<>();
        for (Deployment d : deployments(rendered, PROMPT_WORKER_APP)) {
            PodSpec pod = d.getSpec().getTemplate().getSpec();
            Container c = container(pod, "prompt-worker");
            assertThat(c.getImage())
                    .isEqualTo("fedstream/fedstream-worker:" + K8s.projectVersion());
            WorkerArgs.PromptParsed prompt = WorkerArgs.parsePromptWorker(c.getArgs());
            WorkerArgs.Parsed args = prompt.site();
            assertThat(args.siteId()).as("--site-id").isNotNull();
            assertThat(bySite.put(args.siteId(), d)).as("one prompt worker per site").isNull();
            assertThat(indexes.add(args.siteIndex())).isTrue();
            assertThat(args.sites()).isEqualTo(sites.size());
            assertThat(args.bootstrap()).isEqualTo(bootstrap(rendered));
            // the local black box: the network policy allows no egress but Kafka and DNS
            assertThat(prompt.endpoint()).isNull();
            assertThat(d.getSpec().getReplicas()).isEqualTo(1);
            assertThat(d.getSpec().getTemplate().getMetadata().getLabels())
                    .containsEntry("fedstream.io/site", args.siteId());

            // its own Kafka user, written to --kafka-config by the init container
            String user = KafkaResourcesTest.PROMPT_SITE_PREFIX + args.siteId();
            assertThat(users).contains(user);
            assertThat(secretRefs(pod)).containsExactly(user);
            Volume kafkaConfig = volume(pod, mountFor(c, args.kafkaConfig()).getName());
            assertThat(kafkaConfig.getEmptyDir()).isNotNull();
            assertThat(pod.getInitContainers())
                    .anySatisfy(
                            i ->
                                    assertThat(i.getVolumeMounts())
                                            .anyMatch(
                                                    m ->
                                                            m.getName()
                                                                    .equals(
                                                                            kafkaConfig
                                                                                    .getName())));

            // the site's reviews on its own claim, read-only
            Volume data = volume(pod, mountFor(c, prompt.imdb()).getName());
            assertThat(data.getPersistentVolumeClaim().getClaimName())
                    .isEqualTo(args.siteId() + "-prompt-data");
            assertThat(mountFor(c, prompt.imdb()).getReadOnly()).isTrue();
            for (Container any : concat(pod.getInitContainers(), pod.getContainers())) {
                assertThat(any.getResources().getRequests()).containsKeys("cpu", "memory");
                assertThat(any.getResources().getLimits()).containsKeys("cpu", "memory");
            }
        }
        assertThat(bySite.keySet()).isEqualTo(sites);
        assertThat(indexes).hasSameSizeAs(sites).allMatch(i -> i >= 0 && i < sites.size());
    }

    @ParameterizedTest
    @FieldSource("overlays")
    void everyImageIsTaggedWithTheProjectVersion(String overlay) {
        var rendered = K8s.render(overlay);
        List<String> images = new ArrayList<>();
        for (FlinkDeployment f : K8s.bound(rendered, FlinkDeployment.class)) {
            images.add(f.getSpec().getImage());
        }
        for (PodSpec pod : pods(rendered)) {
            for (Container c : concat(pod.getInitContainers(), pod.getContainers())) {
                if (c.getImage() != null) { // the operator fills in flink-main-container's
                    images.add(c.getImage());
                }
            }
        }
        assertThat(images).hasSizeGreaterThan(4);
        assertThat(images)
                .allMatch(
                        i ->
                                i.equals("fedstream/fedstream-job:" + K8s.projectVersion())
                                        || i.equals(
                                                "fedstream/fedstream-worker:"
                                                        + K8s.projectVersion()),
                        "fedstream/fedstream-{job,worker}:" + K8s.projectVersion());
    }

    // ---- references -----------------------------------------------------------------------------

    @ParameterizedTest
    @FieldSource("overlays")
    void everySecretAndConfigMapAPodUsesExists(String overlay) {
        var rendered = K8s.render(overlay);
        Set<String> users =
                K8s.bound(rendered, KafkaUser.class).stream()
                        .map(u -> u.getMetadata().getName())
                        .collect(Collectors.toSet());
        Map<String, Secret> secrets = byName(K8s.bound(rendered, Secret.class));
        Map<String, ConfigMap> configMaps = byName(K8s.bound(rendered, ConfigMap.class));
        Set<String> externalSigningKeys =
                siteUsers(rendered).stream()
                        .map(s -> s + "-signing-key")
                        .collect(Collectors.toSet());
        for (PodSpec pod : pods(rendered)) {
            for (Ref ref : refs(pod)) {
                if (ref.configMap()) {
                    assertThat(configMaps).as(ref.toString()).containsKey(ref.name());
                    if (ref.key() != null) {
                        assertThat(configMaps.get(ref.name()).getData()).containsKey(ref.key());
                    }
                } else if (secrets.containsKey(ref.name())) {
                    Secret s = secrets.get(ref.name());
                    if (ref.key() != null) {
                        Set<String> keys = new HashSet<>();
                        if (s.getData() != null) {
                            keys.addAll(s.getData().keySet());
                        }
                        if (s.getStringData() != null) {
                            keys.addAll(s.getStringData().keySet());
                        }
                        assertThat(keys).as(ref.toString()).contains(ref.key());
                    }
                } else if (users.contains(ref.name())) {
                    // generated by Strimzi's User Operator for the KafkaUser of the same name
                    if (ref.key() != null) {
                        assertThat(ref.key()).isIn("password", "sasl.jaas.config");
                    }
                } else {
                    // private signing keys are created by each site's operator, never in git
                    assertThat(externalSigningKeys).as(ref.toString()).contains(ref.name());
                    if (ref.key() != null) {
                        assertThat(ref.key()).isIn("site.key", "key-id");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @FieldSource("overlays")
    void networkPoliciesLetEachPartReachOnlyWhatItNeeds(String overlay) {
        var rendered = K8s.render(overlay);
        Map<String, NetworkPolicy> policies = byName(K8s.bound(rendered, NetworkPolicy.class));
        GenericKafkaListener listener =
                K8s.one(rendered, Kafka.class).getSpec().getKafka().getListeners().get(0);

        NetworkPolicy worker = policies.get("fedstream-worker");
        assertThat(worker.getSpec().getPolicyTypes())
                .containsExactlyInAnyOrder("Ingress", "Egress");
        assertThat(worker.getSpec().getIngress()).isEmpty();
        for (Deployment d : K8s.bound(rendered, Deployment.class)) {
            assertThat(
                            selects(
                                    worker.getSpec().getPodSelector(),
                                    d.getSpec().getTemplate().getMetadata().getLabels()))
                    .as("the worker policy covers " + d.getMetadata().getName())
                    .isTrue();
        }
        Set<Integer> workerPorts = new HashSet<>();
        for (NetworkPolicyEgressRule rule : worker.getSpec().getEgress()) {
            assertThat(rule.getTo()).as("no egress to anywhere").isNotEmpty();
            for (NetworkPolicyPort p : rule.getPorts()) {
                workerPorts.add(p.getPort().getIntVal());
            }
        }
        assertThat(workerPorts).containsExactlyInAnyOrder(listener.getPort(), 53);

        // the operator labels a FlinkDeployment's pods app=<its name>
        NetworkPolicy job = policies.get("fedstream-aggregator");
        List<FlinkDeployment> jobs = K8s.bound(rendered, FlinkDeployment.class);
        for (FlinkDeployment fd : jobs) {
            Map<String, String> podLabels = Map.of("app", fd.getMetadata().getName());
            assertThat(selects(job.getSpec().getPodSelector(), podLabels)).isTrue();
            assertThat(selects(worker.getSpec().getPodSelector(), podLabels)).isFalse();
        }
        for (Deployment d : K8s.bound(rendered, Deployment.class)) {
            assertThat(
                            selects(
                                    job.getSpec().getPodSelector(),
                                    d.getSpec().getTemplate().getMetadata().getLabels()))
                    .isFalse();
        }
        assertThat(job.getSpec().getIngress())
                .anySatisfy(
                        r ->
                                assertThat(r.getPorts())
                                        .extracting(p -> p.getPort().getIntVal())
                                        .containsExactly(9249));

        // the Kafka listener admits exactly the pods labelled as clients, and both parts are
        var peers = listener.getNetworkPolicyPeers();
        assertThat(peers).hasSize(1);
        Map<String, String> clientLabel = peers.get(0).getPodSelector().getMatchLabels();
        for (FlinkDeployment fd : jobs) {
            assertThat(fd.getSpec().getPodTemplate().getMetadata().getLabels())
                    .containsAllEntriesOf(clientLabel);
        }
        for (Deployment d : K8s.bound(rendered, Deployment.class)) {
            assertThat(d.getSpec().getTemplate().getMetadata().getLabels())
                    .containsAllEntriesOf(clientLabel);
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    record Ref(boolean configMap, String name, String key) {}

    static List<PodSpec> pods(List<Map<String, Object>> rendered) {
        List<PodSpec> pods = new ArrayList<>();
        for (Deployment d : K8s.bound(rendered, Deployment.class)) {
            pods.add(d.getSpec().getTemplate().getSpec());
        }
        for (FlinkDeployment f : K8s.bound(rendered, FlinkDeployment.class)) {
            pods.add(f.getSpec().getPodTemplate().getSpec());
            for (var t :
                    Stream.of(
                                    f.getSpec().getJobManager().getPodTemplate(),
                                    f.getSpec().getTaskManager().getPodTemplate())
                            .filter(java.util.Objects::nonNull)
                            .toList()) {
                pods.add(t.getSpec());
            }
        }
        return pods;
    }

    static List<Ref> refs(PodSpec pod) {
        List<Ref> refs = new ArrayList<>();
        for (Volume v : pod.getVolumes()) {
            if (v.getSecret() != null) {
                refs.add(new Ref(false, v.getSecret().getSecretName(), null));
                if (v.getSecret().getItems() != null) {
                    v.getSecret()
                            .getItems()
                            .forEach(
                                    i ->
                                            refs.add(
                                                    new Ref(
                                                            false,
                                                            v.getSecret().getSecretName(),
                                                            i.getKey())));
                }
            }
            if (v.getConfigMap() != null) {
                refs.add(new Ref(true, v.getConfigMap().getName(), null));
            }
            if (v.getProjected() != null) {
                throw new AssertionError("projected volumes are not checked yet");
            }
        }
        for (Container c : concat(pod.getInitContainers(), pod.getContainers())) {
            for (EnvVar e : c.getEnv()) {
                if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null) {
                    var r = e.getValueFrom().getSecretKeyRef();
                    refs.add(new Ref(false, r.getName(), r.getKey()));
                }
                if (e.getValueFrom() != null && e.getValueFrom().getConfigMapKeyRef() != null) {
                    var r = e.getValueFrom().getConfigMapKeyRef();
                    refs.add(new Ref(true, r.getName(), r.getKey()));
                }
            }
            for (EnvFromSource e : c.getEnvFrom()) {
                if (e.getSecretRef() != null) {
                    refs.add(new Ref(false, e.getSecretRef().getName(), null));
                }
                if (e.getConfigMapRef() != null) {
                    refs.add(new Ref(true, e.getConfigMapRef().getName(), null));
                }
            }
        }
        return refs;
    }

    static List<String> secretRefs(PodSpec pod) {
        return refs(pod).stream().filter(r -> !r.configMap()).map(Ref::name).distinct().toList();
    }

    /**
     * The adapter sites' Kafka users: every user but the jobs', the operator's and prompt sites'.
     */
    static Set<String> siteUsers(List<Map<String, Object>> rendered) {
        return K8s.bound(rendered, KafkaUser.class).stream()
                .map(u -> u.getMetadata().getName())
                .filter(n -> !n.equals(KafkaResourcesTest.JOB_USER))
                .filter(n -> !n.equals(KafkaResourcesTest.OPERATOR_USER))
                .filter(n -> !n.equals(KafkaResourcesTest.PROMPT_JOB_USER))
                .filter(n -> !n.startsWith(KafkaResourcesTest.PROMPT_SITE_PREFIX))
                .collect(Collectors.toSet());
    }

    static final String WORKER_APP = "fedstream-worker";
    static final String PROMPT_WORKER_APP = "fedstream-prompt-worker";

    /** The Deployments labelled {@code app.kubernetes.io/name: app}. */
    static List<Deployment> deployments(List<Map<String, Object>> rendered, String app) {
        return K8s.bound(rendered, Deployment.class).stream()
                .filter(d -> app.equals(d.getMetadata().getLabels().get("app.kubernetes.io/name")))
                .toList();
    }

    /** Whether a label selector (matchLabels, matchExpressions with In) selects these labels. */
    static boolean selects(LabelSelector selector, Map<String, String> labels) {
        boolean matches =
                selector.getMatchLabels() == null
                        || selector.getMatchLabels().entrySet().stream()
                                .allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
        for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
            assertThat(r.getOperator()).as("only In is checked").isEqualTo("In");
            matches &= r.getValues().contains(labels.get(r.getKey()));
        }
        return matches;
    }

    static String bootstrap(List<Map<String, Object>> rendered) {
        Kafka kafka = K8s.one(rendered, Kafka.class);
        GenericKafkaListener l = kafka.getSpec().getKafka().getListeners().get(0);
        return kafka.getMetadata().getName() + "-kafka-bootstrap:" + l.getPort();
    }

    static <T> List<T> concat(List<T> a, List<T> b) {
        List<T> out = new ArrayList<>(a == null ? List.of() : a);
        out.addAll(b == null ? List.of() : b);
        return out;
    }

    static Container container(PodSpec pod, String name) {
        return pod.getContainers().stream()
                .filter(c -> c.getName().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no container " + name));
    }

    static VolumeMount mountFor(Container c, String file) {
        return c.getVolumeMounts().stream()
                .filter(m -> file.startsWith(m.getMountPath() + "/"))
                .findFirst()
                .orElseThrow(() -> new AssertionError(file + " is on no volume of " + c.getName()));
    }

    static Volume volume(PodSpec pod, String name) {
        return pod.getVolumes().stream()
                .filter(v -> v.getName().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no volume " + name));
    }

    static <T extends io.fabric8.kubernetes.api.model.HasMetadata> Map<String, T> byName(
            List<T> items) {
        Map<String, T> out = new LinkedHashMap<>();
        items.forEach(i -> out.put(i.getMetadata().getName(), i));
        return out;
    }

    static Map<String, String> pairs(List<String> args) {
        assertThat(args.size() % 2).as("--key value pairs").isZero();
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i += 2) {
            assertThat(args.get(i)).startsWith("--");
            assertThat(out.put(args.get(i).substring(2), args.get(i + 1))).isNull();
        }
        return out;
    }

    static Map<String, Object> rawOf(List<Map<String, Object>> rendered, String kind, String name) {
        return rendered.stream()
                .filter(r -> kind.equals(r.get("kind")) && name.equals(K8s.name(r)))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name));
    }

    static FlinkDeployment flinkDeployment(List<Map<String, Object>> rendered, String name) {
        return Manifests.bind(rawOf(rendered, "FlinkDeployment", name), FlinkDeployment.class);
    }

    static Object path(Map<String, Object> m, String... keys) {
        Object o = m;
        for (String k : keys) {
            o = ((Map<?, ?>) o).get(k);
        }
        return o;
    }

    /** Keys of Flink 2.2's configuration options, from its *Options classes. */
    static final class FlinkKeys {
        private static final List<String> OPTION_CLASSES =
                List.of(
                        "org.apache.flink.configuration.CheckpointingOptions",
                        "org.apache.flink.configuration.StateBackendOptions",
                        "org.apache.flink.configuration.HighAvailabilityOptions",
                        "org.apache.flink.configuration.MetricOptions",
                        "org.apache.flink.configuration.TaskManagerOptions",
                        "org.apache.flink.configuration.JobManagerOptions",
                        "org.apache.flink.configuration.RestartStrategyOptions",
                        "org.apache.flink.configuration.CoreOptions");

        /**
         * Reporter-scoped keys: {@code metrics.reporter.<name>.<MetricOptions reporter option>}.
         */
        private static final Set<String> REPORTER_KEYS = Set.of("factory.class", "port");

        private static Map<String, Boolean> current;

        static synchronized boolean isCurrentOption(String key) {
            if (key.startsWith("metrics.reporter.")) {
                String[] parts = key.split("\\.", 4);
                return parts.length == 4 && REPORTER_KEYS.contains(parts[3]);
            }
            if (current == null) {
                current = load();
            }
            return Boolean.TRUE.equals(current.get(key));
        }

        private static Map<String, Boolean> load() {
            Map<String, Boolean> keys = new HashMap<>();
            for (String cls : OPTION_CLASSES) {
                try {
                    for (Field f : Class.forName(cls).getFields()) {
                        if (Modifier.isStatic(f.getModifiers())
                                && f.getType() == ConfigOption.class) {
                            ConfigOption<?> o = (ConfigOption<?>) f.get(null);
                            boolean deprecated = f.isAnnotationPresent(Deprecated.class);
                            keys.merge(o.key(), !deprecated, Boolean::logicalOr);
                            o.fallbackKeys().forEach(k -> keys.putIfAbsent(k.getKey(), false));
                        }
                    }
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(cls, e);
                }
            }
            return keys;
        }
    }
}
