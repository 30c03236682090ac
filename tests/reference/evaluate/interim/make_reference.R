# rpact references for regmed's group-sequential evaluation (issue 13).
# R 4.2 (Debian) with rpact 3.3.4 and jsonlite:
#   cd tests/reference/evaluate/interim && Rscript make_reference.R
# Input: stage_data.json (make_input.py): per scenario the planned design and, per look, the
# cumulative Wald statistic Z_k = (estimate - theta0) / SE of regmed's analysis at that look
# and its information I = 1 / SE^2, given to rpact as a survival data set (overallLogRanks
# Z_k, integer overallEvents E_k = ceiling(4 I) and overallAllocationRatios r_k with
# r E / (1 + r)^2 = I, so that rpact's hazard ratio is exp(estimate - theta0)) with thetaH0 = 1; regmed maps rpact's hazard-ratio scale h back to the
# analysis scale by log(h) + theta0 (see regmed.evaluate.interim).
# Output: expected.json with getAnalysisResults' values on rpact's scale.
suppressPackageStartupMessages({ library(rpact); library(jsonlite) })
stopifnot(as.character(packageVersion("rpact")) == "3.3.4")
input <- fromJSON("stage_data.json", simplifyVector = TRUE)
out <- list(versions = list(R = R.version.string, rpact = as.character(packageVersion("rpact"))))
for (name in names(input)) {
  s <- input[[name]]
  args <- list(informationRates = s$information_rates, alpha = s$alpha, beta = s$beta,
               sided = s$sided, typeOfDesign = s$type_of_design)
  if (s$type_beta_spending != "none") {
    args$typeBetaSpending <- s$type_beta_spending; args$bindingFutility <- FALSE
  }
  design <- do.call(getDesignGroupSequential, args)
  data <- getDataset(overallEvents = s$overall_events, overallLogRanks = s$overall_log_ranks,
                     overallAllocationRatios = s$overall_allocation_ratios)
  r <- suppressWarnings(getAnalysisResults(design, data, directionUpper = s$direction_upper,
                                           thetaH0 = 1))
  k <- length(s$overall_events)
  out[[name]] <- list(
    critical_values = design$criticalValues, futility_bounds = design$futilityBounds,
    test_actions = r$testActions[1:k],
    rci_lower = r$repeatedConfidenceIntervalLowerBounds[1:k],
    rci_upper = r$repeatedConfidenceIntervalUpperBounds[1:k],
    repeated_p_values = r$repeatedPValues[1:k],
    final_stage = if (all(is.na(r$finalStage))) NA else r$finalStage,
    final_p_values = r$finalPValues[1:k],
    final_ci_lower = r$finalConfidenceIntervalLowerBounds[1:k],
    final_ci_upper = r$finalConfidenceIntervalUpperBounds[1:k],
    median_unbiased = r$medianUnbiasedEstimates[1:k])
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), file = "expected.json")
