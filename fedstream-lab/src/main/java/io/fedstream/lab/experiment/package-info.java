/**
 * {@code ./fedstream experiment}: experiments that write their own report (Markdown table, CSV, PNG
 * chart) — fedit, feddtpt, fedpit, async, dp (docs/experiments.md).
 */
package io.fedstream.lab.experiment;
