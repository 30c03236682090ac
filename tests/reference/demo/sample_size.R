# Reference values for the demo plans (regmed.demo): sample sizes stated in the plans and the
# power the heart-failure survey achieved with 49 treated and 102 controls.
# R 4.2.2, rpact 3.3.4.  Run: Rscript sample_size.R  (writes sample_size.json here)
suppressMessages({library(rpact); library(jsonlite)})
ss <- function(p1, p2) {
  d <- getSampleSizeRates(pi1 = p1, pi2 = p2, allocationRatioPlanned = 0.5, sided = 1,
                          alpha = 0.025, beta = 0.2)
  list(p_treated = p1, p_control = p2, alpha = 0.025, power = 0.8, allocation_ratio = 0.5,
       n_total = d$numberOfSubjects[1], n_treated_exact = d$numberOfSubjects1[1],
       n_control_exact = d$numberOfSubjects2[1],
       n_treated = ceiling(d$numberOfSubjects1[1]), n_control = ceiling(d$numberOfSubjects2[1]))
}
pw <- function(p1, p2, n1, n2) {
  getPowerRates(pi1 = p1, pi2 = p2, maxNumberOfSubjects = n1 + n2,
                allocationRatioPlanned = n1 / n2, sided = 1, alpha = 0.025)$overallReject
}
grid <- seq(0.48, 0.58, by = 0.005)
out <- list(
  source = "rpact 3.3.4 getSampleSizeRates / getPowerRates (one-sided alpha 0.025)",
  sci = ss(0.61, 0.45),
  heart_failure_shortfall = ss(0.62, 0.40),
  example_issue5 = ss(0.50, 0.30),
  heart_power = list(
    n_treated = 49, n_control = 102, p_control = 0.40,
    planned_assumptions = pw(0.62, 0.40, 49, 102),
    grid_p_treated = grid,
    grid_power = sapply(grid, function(p) pw(p, 0.40, 49, 102))
  )
)
write_json(out, "sample_size.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
