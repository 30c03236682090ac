# Reference sample sizes for the plan checklist's recomputation (index 6 (1)).
# rpact 3.3.4, getSampleSizeRates: normal approximation, H0 difference 0, one-sided.
# Run: Rscript tests/reference/plan/sample_size_rates.R > tests/reference/plan/sample_size_rates.json
suppressMessages(library(rpact))
library(jsonlite)
cases <- list(
  list(name = "sci_example", p_treated = 0.50, p_control = 0.30, alpha = 0.025, power = 0.8,
       allocation_ratio = 0.5),
  list(name = "design_md", p_treated = 0.45, p_control = 0.25, alpha = 0.025, power = 0.8,
       allocation_ratio = 0.5),
  list(name = "equal_allocation", p_treated = 0.45, p_control = 0.25, alpha = 0.025,
       power = 0.8, allocation_ratio = 1),
  list(name = "sci_ais_a", p_treated = 0.22, p_control = 0.08, alpha = 0.025, power = 0.9,
       allocation_ratio = 0.5),
  list(name = "heartsheet_like", p_treated = 0.60, p_control = 0.40, alpha = 0.025,
       power = 0.8, allocation_ratio = 0.5)
)
out <- lapply(cases, function(x) {
  r <- getSampleSizeRates(pi1 = x$p_treated, pi2 = x$p_control, alpha = x$alpha,
                          beta = 1 - x$power, sided = 1,
                          allocationRatioPlanned = x$allocation_ratio)
  c(x, list(sided = 1, n_treated = r$nFixed1, n_control = r$nFixed2, n_total = r$nFixed))
})
cat(toJSON(list(source = paste("rpact", packageVersion("rpact"), "getSampleSizeRates"),
                cases = out), auto_unbox = TRUE, digits = NA, pretty = TRUE))
