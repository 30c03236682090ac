# Reference sizes for the checklist's recomputation with means, survival and single-arm plans.
# rpact 3.3.4 (getSampleSizeMeans, t-based default; getSampleSizeSurvival, Schoenfeld,
# uniform accrual, exponential survival) and an exact binomial search with pbinom.
# Run: Rscript tests/reference/plan/sample_size_methods.R > tests/reference/plan/sample_size_methods.json
suppressMessages(library(rpact))
library(jsonlite)
m <- getSampleSizeMeans(alternative = 6, stDev = 10, alpha = 0.025, beta = 0.1, sided = 1,
                        allocationRatioPlanned = 1)
s <- suppressWarnings(getSampleSizeSurvival(hazardRatio = 0.6, median2 = 18, accrualTime = 24,
                                            followUpTime = 12, alpha = 0.025, beta = 0.2,
                                            sided = 1, allocationRatioPlanned = 1))
single_arm <- function(p0, p1, a, pw) {
  for (n in 1:5000) {
    crit <- 0:(n + 1)
    r <- crit[min(which(pbinom(crit - 1, n, p0, lower.tail = FALSE) <= a))]
    if (r > n) next
    if (pbinom(r - 1, n, p1, lower.tail = FALSE) >= pw) return(list(n = n, critical = r))
  }
}
sa <- single_arm(0.45, 0.65, 0.025, 0.8)
out <- list(
  source = paste("rpact", packageVersion("rpact"), "and exact binomial search (pbinom)"),
  means = list(assumptions = list(difference = 6, sd = 10, alpha = 0.025, power = 0.9),
               n_treated = m$nFixed1, n_control = m$nFixed2),
  survival = list(assumptions = list(hazard_ratio = 0.6, median_control = 18, accrual_time = 24,
                                     follow_up_time = 12, alpha = 0.025, power = 0.8),
                  n_treated = s$nFixed1, n_control = s$nFixed2, events = s$eventsFixed),
  single_arm = list(assumptions = list(p0 = 0.45, p1 = 0.65, alpha = 0.025, power = 0.8),
                    n_treated = sa$n)
)
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE))
