package io.fedstream.aggregation;

import java.io.Serializable;
import java.util.Locale;

/**
 * The staleness discount f(s) of asynchronous federated optimisation (FedAsync, Xie et al. 2019;
 * FedBuff, Nguyen et al. 2022): an update trained from a version s rounds old has weight {@code
 * examples × f(s)}. Every function has f(0) = 1, so fresh updates get plain FedAvg weights.
 */
public sealed interface StalenessFunction extends Serializable {

    /** The discount for staleness {@code s ≥ 0}. */
    double apply(long s);

    /** A compact description, e.g. {@code polynomial(a=0.5)}, recorded in every manifest. */
    String describe();

    /** f(s) = 1: staleness is ignored. */
    record Constant() implements StalenessFunction {
        @Override
        public double apply(long s) {
            requireNonNegative(s);
            return 1.0;
        }

        @Override
        public String describe() {
            return "constant";
        }
    }

    /** f(s) = (1 + s)^-a. */
    record Polynomial(double a) implements StalenessFunction {
        public Polynomial {
            if (!(a >= 0) || Double.isInfinite(a)) {
                throw new IllegalArgumentException("polynomial staleness needs a >= 0, not " + a);
            }
        }

        @Override
        public double apply(long s) {
            requireNonNegative(s);
            return Math.pow(1.0 + s, -a);
        }

        @Override
        public String describe() {
            return "polynomial(a=" + a + ")";
        }
    }

    /** f(s) = 1 if s ≤ b, else 1 / (a(s − b) + 1). */
    record Hinge(double a, long b) implements StalenessFunction {
        public Hinge {
            if (!(a >= 0) || Double.isInfinite(a) || b < 0) {
                throw new IllegalArgumentException(
                        "hinge staleness needs a >= 0 and b >= 0, not a=" + a + ", b=" + b);
            }
        }

        @Override
        public double apply(long s) {
            requireNonNegative(s);
            return s <= b ? 1.0 : 1.0 / (a * (s - b) + 1.0);
        }

        @Override
        public String describe() {
            return "hinge(a=" + a + ",b=" + b + ")";
        }
    }

    /** Builds a function from its configured name ({@code constant|polynomial|hinge}). */
    static StalenessFunction of(String name, double a, long b) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "constant" -> new Constant();
            case "polynomial" -> new Polynomial(a);
            case "hinge" -> new Hinge(a, b);
            default ->
                    throw new IllegalArgumentException(
                            "unknown staleness function '"
                                    + name
                                    + "' (constant, polynomial, hinge)");
        };
    }

    /** Parses what {@link #describe()} wrote, e.g. {@code hinge(a=10.0,b=4)}: for audits. */
    static StalenessFunction parse(String description) {
        String d = description.strip();
        int open = d.indexOf('(');
        String name = open < 0 ? d : d.substring(0, open);
        double a = 0;
        long b = 0;
        if (open >= 0) {
            if (!d.endsWith(")")) {
                throw new IllegalArgumentException("not a staleness function: " + description);
            }
            for (String kv : d.substring(open + 1, d.length() - 1).split(",")) {
                String[] parts = kv.split("=", 2);
                if (parts.length != 2) {
                    throw new IllegalArgumentException("not a staleness function: " + description);
                }
                switch (parts[0].strip()) {
                    case "a" -> a = Double.parseDouble(parts[1]);
                    case "b" -> b = Long.parseLong(parts[1].strip());
                    default ->
                            throw new IllegalArgumentException(
                                    "unknown parameter in " + description);
                }
            }
        }
        return of(name, a, b);
    }

    private static void requireNonNegative(long s) {
        if (s < 0) {
            throw new IllegalArgumentException("staleness must be >= 0, not " + s);
        }
    }
}
