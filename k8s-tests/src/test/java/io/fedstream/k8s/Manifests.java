package io.fedstream.k8s;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.MapperConfig;
import com.fasterxml.jackson.databind.deser.DeserializationProblemHandler;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.networking.v1.Ingress;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.nodepool.KafkaNodePool;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import io.strimzi.api.kafka.model.user.KafkaUser;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.flink.kubernetes.operator.api.FlinkDeployment;
import org.apache.flink.kubernetes.operator.api.spec.FlinkVersion;

/**
 * Binds rendered manifests to the operators' and Kubernetes' published model classes, failing on
 * any field those classes do not know.
 *
 * <p>Unknown fields are caught twice: Jackson's {@code FAIL_ON_UNKNOWN_PROPERTIES} for classes
 * without a catch-all, and a walk over the bound object graph for the many model classes (fabric8,
 * Strimzi) that park unknown fields in {@code getAdditionalProperties()} instead of failing.
 *
 * <p>One deliberate exception: {@code flinkVersion}. The newest Flink Kubernetes Operator API the
 * project's Maven repository serves is 1.10.0 (it has 1.3.0, 1.7.0 and 1.10.0), whose {@code
 * FlinkVersion} enum ends at {@code v1_20}; the job needs {@code v2_2}. A {@code v2_<n>} value is
 * accepted here (bound as {@code v1_20}) and checked by the tests as a string
 * (docs/operations.md#deploy).
 */
public final class Manifests {
    private static final Pattern FLINK_2 = Pattern.compile("v2_\\d+");

    static final ObjectMapper STRICT =
            new ObjectMapper()
                    .setAnnotationIntrospector(new StrictIntrospector())
                    .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                    .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                    .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                    .addHandler(
                            new DeserializationProblemHandler() {
                                @Override
                                public Object handleWeirdStringValue(
                                        DeserializationContext ctxt,
                                        Class<?> targetType,
                                        String value,
                                        String failureMsg) {
                                    if (targetType == FlinkVersion.class
                                            && FLINK_2.matcher(value).matches()) {
                                        return FlinkVersion.v1_20;
                                    }
                                    return NOT_HANDLED;
                                }
                            });

    /** apiVersion/kind → model class of every kind the manifests may contain. */
    static final Map<String, Class<?>> KINDS =
            Map.ofEntries(
                    Map.entry("kafka.strimzi.io/v1/Kafka", Kafka.class),
                    Map.entry("kafka.strimzi.io/v1/KafkaNodePool", KafkaNodePool.class),
                    Map.entry("kafka.strimzi.io/v1/KafkaTopic", KafkaTopic.class),
                    Map.entry("kafka.strimzi.io/v1/KafkaUser", KafkaUser.class),
                    Map.entry("flink.apache.org/v1beta1/FlinkDeployment", FlinkDeployment.class),
                    Map.entry("apps/v1/Deployment", Deployment.class),
                    Map.entry("v1/Service", Service.class),
                    Map.entry("v1/ConfigMap", ConfigMap.class),
                    Map.entry("v1/Secret", Secret.class),
                    Map.entry("networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class),
                    Map.entry("networking.k8s.io/v1/Ingress", Ingress.class));

    private Manifests() {}

    /**
     * Ignores {@code @JsonIgnoreProperties(ignoreUnknown = true)}, which several Flink operator
     * spec classes carry (they would otherwise accept any misspelt field).
     */
    private static final class StrictIntrospector extends JacksonAnnotationIntrospector {
        @Override
        public JsonIgnoreProperties.Value findPropertyIgnoralByName(
                MapperConfig<?> config, Annotated a) {
            return super.findPropertyIgnoralByName(config, a).withoutIgnoreUnknown();
        }
    }

    /** The model class of a manifest's apiVersion and kind. */
    public static Class<?> modelClass(Map<String, Object> manifest) {
        Class<?> c = KINDS.get(manifest.get("apiVersion") + "/" + manifest.get("kind"));
        if (c == null) {
            throw new IllegalArgumentException(
                    "no model class for "
                            + manifest.get("apiVersion")
                            + " "
                            + manifest.get("kind"));
        }
        return c;
    }

    /** Binds the manifest to its model class; fails on any field the class does not know. */
    public static Object bind(Map<String, Object> manifest) {
        return bind(manifest, modelClass(manifest));
    }

    public static <T> T bind(Map<String, Object> manifest, Class<T> type) {
        T bound;
        try {
            bound = STRICT.convertValue(manifest, type);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(K8s.id(manifest) + ": " + e.getMessage(), e);
        }
        List<String> unknown = new ArrayList<>();
        walk(bound, type.getSimpleName(), unknown, new IdentityHashMap<>());
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(K8s.id(manifest) + ": unknown fields " + unknown);
        }
        return bound;
    }

    private static final Set<String> MODEL_PACKAGES =
            Set.of("io.fabric8.", "io.strimzi.", "org.apache.flink.kubernetes.");

    private static void walk(
            Object o, String path, List<String> unknown, IdentityHashMap<Object, Boolean> seen) {
        if (o == null || seen.put(o, Boolean.TRUE) != null) {
            return;
        }
        if (o instanceof Collection<?> c) {
            int i = 0;
            for (Object e : c) {
                walk(e, path + "[" + i++ + "]", unknown, seen);
            }
            return;
        }
        if (o instanceof Map<?, ?> m) {
            for (var e : m.entrySet()) {
                walk(e.getValue(), path + "." + e.getKey(), unknown, seen);
            }
            return;
        }
        String cls = o.getClass().getName();
        if (o.getClass().isEnum() || MODEL_PACKAGES.stream().noneMatch(cls::startsWith)) {
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0
                    || Modifier.isStatic(m.getModifiers())
                    || m.getDeclaringClass() == Object.class
                    || !(m.getName().startsWith("get") || m.getName().startsWith("is"))) {
                continue;
            }
            Object value;
            try {
                value = m.invoke(o);
            } catch (ReflectiveOperationException | RuntimeException e) {
                continue;
            }
            if (m.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    unknown.add(path + " " + extra.keySet());
                }
                continue;
            }
            walk(value, path + "." + m.getName(), unknown, seen);
        }
    }
}
