# rpact 3.3.4 getAnalysisResults() references for regmed.design.analyze_group_sequential.
# Run from this folder:  Rscript make_reference.R   -> writes expected.json
# Every case lists the design (regmed's group_sequential arguments), the stage data (regmed's
# column names), the analysis options, and rpact's results. rpact's root searches stop at
# `tolerance` (default 1e-6: bisection for the repeated p-values, uniroot elsewhere); the
# cases are computed with tolerance = 1e-11 so that the stored numbers are rpact's exact
# roots, and `default_tolerance` repeats the main fields with rpact's default for comparison.
suppressPackageStartupMessages({library(rpact); library(jsonlite)})
stopifnot(as.character(packageVersion("rpact")) == "3.3.4")

designs <- list(
  of3 = list(information_rates = c(1/3, 2/3, 1), alpha = 0.025, sided = 1, spending = "OF"),
  p2 = list(information_rates = c(0.5, 1), alpha = 0.025, sided = 1, spending = "P"),
  of4 = list(information_rates = c(0.25, 0.5, 0.75, 1), alpha = 0.025, sided = 1, spending = "OF"),
  hsd3 = list(information_rates = c(0.4, 0.7, 1), alpha = 0.025, sided = 1, spending = "HSD",
              gamma = -4),
  of2_two_sided = list(information_rates = c(0.5, 1), alpha = 0.05, sided = 2, spending = "OF"),
  of3_futility = list(information_rates = c(0.3, 0.6, 1), alpha = 0.025, sided = 1,
                      spending = "OF", futility = "OF", beta = 0.2),
  p4_alpha05 = list(information_rates = c(0.2, 0.45, 0.7, 1), alpha = 0.05, sided = 1,
                    spending = "P"))
rpact_design <- function(d) {
  args <- list(informationRates = d$information_rates, alpha = d$alpha, sided = d$sided,
               typeOfDesign = paste0("as", d$spending), beta = if (is.null(d$beta)) 0.2 else d$beta)
  if (!is.null(d$gamma)) args$gammaA <- d$gamma
  if (!is.null(d$futility)) {
    args$typeBetaSpending <- paste0("bs", d$futility); args$bindingFutility <- FALSE
  }
  do.call(getDesignGroupSequential, args)
}

data_sets <- list(
  rates = list(
    early = list(n_treated = c(60, 60, 60), events_treated = c(35, 38, 30),
                 n_control = c(60, 60, 60), events_control = c(18, 16, 20)),
    final = list(n_treated = c(50, 52, 48, 50), events_treated = c(22, 25, 21, 24),
                 n_control = c(50, 49, 51, 50), events_control = c(17, 19, 15, 16)),
    interim = list(n_treated = c(40, 41), events_treated = c(20, 19),
                   n_control = c(40, 39), events_control = c(15, 12))),
  rates_one = list(
    final = list(n = c(30, 30, 30, 30), events = c(9, 11, 8, 12)),
    early = list(n = c(40, 40, 40), events = c(19, 21, 18))),
  means = list(
    early = list(n_treated = c(30, 30, 30), mean_treated = c(12.1, 11.4, 12.5),
                 sd_treated = c(4.1, 3.8, 4.4), n_control = c(30, 31, 29),
                 mean_control = c(8.2, 8.9, 9.1), sd_control = c(4.3, 4.0, 3.9)),
    final = list(n_treated = c(25, 25, 25, 25), mean_treated = c(10.4, 11.0, 10.2, 10.9),
                 sd_treated = c(5.1, 4.7, 5.3, 4.9), n_control = c(25, 24, 26, 25),
                 mean_control = c(9.6, 9.3, 9.9, 9.1), sd_control = c(5.0, 5.2, 4.8, 5.1)),
    interim = list(n_treated = c(20), mean_treated = c(14.2), sd_treated = c(6.1),
                   n_control = c(21), mean_control = c(11.8), sd_control = c(5.7))),
  means_one = list(
    final = list(n = c(20, 20, 20, 20), mean = c(1.9, 2.6, 2.2, 2.4), sd = c(3.1, 2.8, 3.3, 3.0))),
  survival = list(
    early = list(events = c(35, 70, 105), log_rank = c(-1.9, -3.4, -3.9)),
    final = list(events = c(30, 60, 90, 120), log_rank = c(-1.2, -1.5, -2.1, -2.3)),
    interim = list(events = c(42, 84), log_rank = c(-1.1, -1.8)))
)

cases <- list()
add <- function(kind, design_name, data_name, k = NULL, direction_upper = TRUE, theta_h0 = NULL,
                normal_approximation = NULL, equal_variances = NULL, allocation_ratio = NULL) {
  d <- designs[[design_name]]; des <- rpact_design(d)
  src <- if (kind %in% c("rates_one", "means_one")) kind else kind
  dat <- data_sets[[src]][[data_name]]
  K <- length(d$information_rates)
  nst <- min(length(dat[[1]]), K)
  if (!is.null(k)) nst <- k
  dat <- lapply(dat, function(v) v[seq_len(nst)])
  ds <- switch(kind,
    rates = getDataset(n1 = dat$n_treated, n2 = dat$n_control,
                       events1 = dat$events_treated, events2 = dat$events_control),
    rates_one = getDataset(n = dat$n, events = dat$events),
    means = getDataset(n1 = dat$n_treated, n2 = dat$n_control, means1 = dat$mean_treated,
                       means2 = dat$mean_control, stDevs1 = dat$sd_treated, stDevs2 = dat$sd_control),
    means_one = getDataset(n = dat$n, means = dat$mean, stDevs = dat$sd),
    survival = getDataset(overallEvents = dat$events, overallLogRanks = dat$log_rank,
                          overallAllocationRatios = rep(if (is.null(allocation_ratio)) 1 else allocation_ratio, nst)))
  args <- list(design = des, dataInput = ds, directionUpper = direction_upper)
  if (!is.null(theta_h0)) args$thetaH0 <- theta_h0
  if (!is.null(normal_approximation)) args$normalApproximation <- normal_approximation
  if (!is.null(equal_variances)) args$equalVariances <- equal_variances
  r <- suppressWarnings(suppressMessages(do.call(getAnalysisResults, c(args, list(tolerance = 1e-11)))))
  r0 <- suppressWarnings(suppressMessages(do.call(getAnalysisResults, args)))
  sr <- r$.stageResults
  pick <- function(x) list(
    test_actions = x$testActions, rci_lower = x$repeatedConfidenceIntervalLowerBounds,
    rci_upper = x$repeatedConfidenceIntervalUpperBounds, repeated_p_values = x$repeatedPValues,
    final_p_values = x$finalPValues, final_ci_lower = x$finalConfidenceIntervalLowerBounds,
    final_ci_upper = x$finalConfidenceIntervalUpperBounds,
    median_unbiased = x$medianUnbiasedEstimates)
  cases[[length(cases) + 1]] <<- c(list(
    kind = sub("_one", "", kind), arms = if (grepl("_one", kind)) 1 else 2,
    design_name = design_name, data_name = data_name,
    design = d, data = dat,
    options = list(direction_upper = direction_upper, theta_h0 = theta_h0,
                   normal_approximation = normal_approximation, equal_variances = equal_variances,
                   allocation_ratio = allocation_ratio),
    critical_values = des$criticalValues, final_stage = r$finalStage,
    overall_test_statistics = sr$overallTestStatistics, effect_sizes = sr$effectSizes),
    pick(r), list(default_tolerance = pick(r0)))
}

for (dn in c("of3", "p2", "of4", "hsd3", "of2_two_sided", "of3_futility", "p4_alpha05")) {
  for (dat in c("early", "final", "interim")) {
    add("rates", dn, dat)
    add("means", dn, dat)
    add("survival", dn, dat, direction_upper = FALSE)
  }
}
add("rates_one", "of4", "final", theta_h0 = 0.2)
add("rates_one", "of3", "early", theta_h0 = 0.25)
add("rates_one", "p2", "final", theta_h0 = 0.2)
add("means_one", "of4", "final")
add("means_one", "hsd3", "final", theta_h0 = 0.5)
add("means", "of3", "early", equal_variances = FALSE)
add("means", "of4", "final", normal_approximation = TRUE)
add("means", "of3", "early", theta_h0 = 1)
add("rates", "of3", "early", theta_h0 = 0.05)
add("rates", "of4", "final", direction_upper = FALSE)
add("survival", "of3", "early", direction_upper = FALSE, allocation_ratio = 2)
add("survival", "of4", "final", direction_upper = FALSE, theta_h0 = 1.1)
add("survival", "p2", "final", direction_upper = TRUE)
add("means", "of4", "final", k = 2)
out <- list(versions = list(R = R.version.string, rpact = as.character(packageVersion("rpact"))),
            cases = cases)
cat(toJSON(out, auto_unbox = FALSE, digits = NA, pretty = TRUE, na = "null", null = "null"),
    file = "expected.json")
cat(length(cases), "cases\n")
