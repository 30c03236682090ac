# Group-sequential survival sample sizes, rpact 3.3.4 getSampleSizeSurvival(design, ...) (issue 14).
#   Rscript make_reference.R     (run in this folder) -> survival_sequential.json
# Subjects at an interim are those enrolled by its calendar time (analysisTime); expected
# subjects under H1 weight them by the stopping probabilities (rpact
# .getSampleSizeSequentialSurvival in R/f_design_plan_survival.R).
suppressPackageStartupMessages({library(rpact); library(jsonlite)})
stopifnot(as.character(packageVersion("rpact")) == "3.3.4")
num <- function(x) as.list(sprintf("%.17g", as.numeric(x)))

designs <- list(
  list(information_rates = c(1 / 3, 2 / 3, 1), alpha = 0.025, beta = 0.2, sided = 1, spending = "OF"),
  list(information_rates = c(0.25, 0.5, 0.75, 1), alpha = 0.025, beta = 0.1, sided = 1, spending = "P"),
  list(information_rates = c(0.2, 0.4, 0.6, 0.8, 1), alpha = 0.025, beta = 0.2, sided = 1,
       spending = "HSD", gamma = -4),
  list(information_rates = c(0.3, 0.6, 1), alpha = 0.05, beta = 0.2, sided = 2, spending = "OF"),
  list(information_rates = c(0.4, 0.7, 0.85, 1), alpha = 0.025, beta = 0.2, sided = 1,
       spending = "OF", futility = "OF"),
  list(information_rates = c(0.25, 0.5, 0.75, 1), alpha = 0.025, beta = 0.2, sided = 1,
       spending = "HSD", gamma = -2, futility = "P"))
rp_design <- function(d) {
  args <- list(informationRates = d$information_rates, alpha = d$alpha, beta = d$beta,
               sided = d$sided, typeOfDesign = paste0("as", d$spending))
  if (!is.null(d$gamma)) args$gammaA <- d$gamma
  if (!is.null(d$futility)) args$typeBetaSpending <- paste0("bs", d$futility)
  do.call(getDesignGroupSequential, args)
}
plans <- list(
  list(hazard_ratio = 0.6, median_control = 18, accrual_time = 24, follow_up_time = 12),
  list(hazard_ratio = 0.7, lambda_control = 0.05, accrual_time = 18, follow_up_time = 24,
       allocation_ratio = 2),
  list(hazard_ratio = 0.65, median_control = 12, accrual_time = 24, follow_up_time = 6,
       dropout_rate = 0.1, dropout_time = 12),
  list(hazard_ratio = 1.5, median_control = 24, accrual_time = 36, follow_up_time = 12,
       allocation_ratio = 0.5, dropout_rate = 0.05, dropout_time = 24),
  list(hazard_ratio = 0.6, median_control = 18, accrual_time = c(0, 6, 24),
       accrual_intensity = c(0.1, 0.3), follow_up_time = 12),
  list(hazard_ratio = 0.75, median_control = 20, accrual_time = c(0, 4, 10, 30),
       accrual_intensity = c(0.2, 0.5, 0.9), follow_up_time = 15, dropout_rate = 0.08,
       dropout_time = 12))
rp_plan <- function(p, d) {
  args <- list(design = d, hazardRatio = p$hazard_ratio, accrualTime = p$accrual_time,
               followUpTime = p$follow_up_time)
  if (!is.null(p$median_control)) args$median2 <- p$median_control else args$lambda2 <- p$lambda_control
  if (!is.null(p$accrual_intensity)) args$accrualIntensity <- p$accrual_intensity
  if (!is.null(p$allocation_ratio)) args$allocationRatioPlanned <- p$allocation_ratio
  if (!is.null(p$dropout_rate)) {
    args$dropoutRate1 <- p$dropout_rate; args$dropoutRate2 <- p$dropout_rate
    args$dropoutTime <- p$dropout_time
  }
  suppressWarnings(do.call(getSampleSizeSurvival, args))
}
cases <- list()
for (i in seq_along(designs)) for (j in seq_along(plans)) {
  # every design with the first plan; every plan with the first two designs; the rest paired
  if (!(j == 1 || i <= 2 || (i + j) %% 2 == 0)) next
  d <- rp_design(designs[[i]])
  s <- rp_plan(plans[[j]], d)
  cases[[length(cases) + 1]] <- list(
    design = designs[[i]], input = plans[[j]],
    events = num(s$maxNumberOfEvents), events_by_stage = num(s$eventsPerStage),
    n_total = num(s$maxNumberOfSubjects), n_treated = num(s$maxNumberOfSubjects1),
    n_control = num(s$maxNumberOfSubjects2), n_total_by_stage = num(s$numberOfSubjects),
    analysis_times = num(s$analysisTime), expected_n_total_h1 = num(s$expectedNumberOfSubjectsH1),
    expected_events_h1 = num(s$expectedEventsH1), study_duration_h1 = num(s$studyDuration),
    accrual_intensity = num(s$accrualIntensity))
}
writeLines(toJSON(list(rpact = as.character(packageVersion("rpact")), cases = cases),
                  auto_unbox = TRUE, digits = NA, null = "null", pretty = FALSE),
           "survival_sequential.json")
cat(length(cases), "cases\n")
d <- rp_design(designs[[1]]); s <- rp_plan(plans[[1]], d)
print(s$numberOfSubjects); print(s$expectedNumberOfSubjectsH1); print(s$accrualIntensity)
