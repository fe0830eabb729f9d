/**
 * The picocli pieces the lab's commands share: the {@link io.fedstream.lab.options.CommandGroup}
 * base of {@code experiment} and {@code bench} (a subcommand per experiment or benchmark, unknown
 * names refused in one line) and the mixins of the options several of them take ({@code --quick},
 * {@code --seed}, {@code --out}, {@code --data}, {@code --mb}, {@code --threads}, {@code --rank},
 * {@code --alpha}).
 */
package io.fedstream.lab.options;
