package io.fedstream.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;

/**
 * Checks made before a command starts anything, so that the common mistakes end within seconds in
 * one line instead of a minute of retries: Kafka answers at {@code --bootstrap}, the Flink web UI's
 * port is free.
 */
final class Preflight {
    /** How long to wait for Kafka to answer before giving up. */
    static final Duration KAFKA_TIMEOUT = Duration.ofSeconds(30);

    private Preflight() {}

    /**
     * Fails with a {@link Errors.UserError} unless a Kafka cluster answers at {@code bootstrap}
     * (with the extra client properties, e.g. SASL) within {@code timeout}.
     */
    static void kafka(String bootstrap, Properties client, Duration timeout) {
        Properties p = new Properties();
        p.putAll(client);
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        int ms = (int) timeout.toMillis();
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
        p.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, Math.min(ms, 5000));
        p.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, Math.min(ms, 5000));
        try (Admin admin = Admin.create(p)) {
            admin.describeCluster(new DescribeClusterOptions().timeoutMs(ms))
                    .nodes()
                    .get(ms + 1000L, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof AuthenticationException) {
                throw new Errors.UserError(
                        "Kafka at "
                                + bootstrap
                                + " refused the credentials: "
                                + c.getMessage()
                                + " (check --kafka-config)");
            }
            if (c instanceof AuthorizationException) {
                throw new Errors.UserError(
                        "Kafka at "
                                + bootstrap
                                + " denies this principal: "
                                + c.getMessage()
                                + " (check the ACLs, docs/operations.md)");
            }
            throw unreachable(bootstrap, timeout);
        } catch (TimeoutException e) {
            throw unreachable(bootstrap, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Errors.UserError("interrupted while contacting Kafka at " + bootstrap);
        } catch (org.apache.kafka.common.KafkaException e) {
            // e.g. an unresolvable host name or a malformed address
            throw new Errors.UsageError(
                    "--bootstrap " + bootstrap + ": " + Errors.firstLine(rootMessage(e)));
        }
    }

    private static Errors.UserError unreachable(String bootstrap, Duration timeout) {
        return new Errors.UserError(
                "no Kafka answered at --bootstrap "
                        + bootstrap
                        + " within "
                        + timeout.toSeconds()
                        + " s: start one (./fedstream kafka) or fix the address");
    }

    private static String rootMessage(Throwable t) {
        Throwable r = t;
        while (r.getCause() != null) {
            r = r.getCause();
        }
        return r.getMessage() != null ? r.getMessage() : t.getMessage();
    }

    /**
     * Fails with a {@link Errors.UserError} naming the port and {@code option} if {@code port} is
     * taken (the Flink web UI would otherwise fail after its start-up with "Could not start rest
     * endpoint on any port in port range").
     */
    static void portFree(int port, String option, String what) {
        if (port == 0) {
            return;
        }
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress(port));
        } catch (IOException e) {
            throw portInUse(port, option, what);
        }
    }

    static Errors.UserError portInUse(int port, String option, String what) {
        return new Errors.UserError(
                "port "
                        + port
                        + " ("
                        + what
                        + ") is in use, perhaps by another job: choose another with "
                        + option
                        + " PORT");
    }
}
