# MatchThem references for regmed's multiply-imputed propensity analyses (issue 13).
# R 4.2 (Debian) with mice 3.15, survey, sandwich, lmtest, jsonlite; MatchIt 4.7.2, WeightIt
# 1.4.0 and MatchThem 1.2.2 (with cobalt 4.5.5 and rlang 1.1.1) built from their public
# sources into /opt/rlib:
#   cd tests/reference/evaluate/mi_runner && R_LIBS=/opt/rlib Rscript make_reference.R
# Input: patients.csv (the data with NAs) and <scenario>__imputed.csv, regmed's imputed data
# sets (make_input.py: R's random numbers differ from numpy's, so both analyse the same sets).
# Per scenario: matchthem()/weightthem() with approach = "within" on the mids, with() for the
# outcome model, the robust variance regmed uses (sandwich::vcovCL on the matched sets for
# matching, vcovHC "HC0" for weighting) on each with() fit, and MatchThem's pool().
# Writes expected.json.
suppressPackageStartupMessages({
  library(mice); library(MatchIt); library(WeightIt); library(MatchThem)
  library(sandwich); library(lmtest); library(jsonlite)
})
stopifnot(as.character(packageVersion("MatchIt")) == "4.7.2")

patients <- read.csv("patients.csv", na.strings = "", stringsAsFactors = FALSE)
tight <- glm.control(epsilon = 1e-14, maxit = 100)
scen <- list(
  match_binary_rd = list(y = "response", method = "matching", caliper = 0.2, ratio = 1,
                         terms = c("risk_difference", "log_risk_ratio", "log_odds_ratio"), level = 0.95),
  match_binary_or = list(y = "response", method = "matching", caliper = NULL, ratio = 1,
                         terms = c("risk_difference", "log_risk_ratio", "log_odds_ratio"), level = 0.90),
  match_continuous = list(y = "score", method = "matching", caliper = 0.2, ratio = 1,
                          terms = "mean_difference", level = 0.95),
  weight_att_continuous = list(y = "score", method = "weighting", estimand = "ATT",
                               terms = "mean_difference", level = 0.95),
  weight_ate_binary = list(y = "response", method = "weighting", estimand = "ATE",
                           terms = c("risk_difference", "log_risk_ratio", "log_odds_ratio"), level = 0.95))

as_mids <- function(name, y) {
  long <- read.csv(sprintf("%s__imputed.csv", name), stringsAsFactors = FALSE)
  orig <- data.frame(imputation = 0, pseudonym = patients$patient_id,
                     treated = as.integer(patients$cohort == "treated"), age = patients$age,
                     sex = patients$sex, severity = patients$severity, outcome = patients[[y]])
  keep <- orig$pseudonym %in% long$pseudonym
  all <- rbind(orig[keep, ], long)
  all$sex <- factor(all$sex, levels = c("F", "M"))
  n <- sum(keep)
  all$.imp <- all$imputation; all$.id <- rep(seq_len(n), times = max(long$imputation) + 1)
  as.mids(all[, c(".imp", ".id", "treated", "age", "sex", "severity", "outcome")])
}

model_for <- function(term, fit_data) switch(term,
  risk_difference = , mean_difference = quote(lm(outcome ~ treated)),
  log_risk_ratio = quote(glm(outcome ~ treated, family = quasipoisson(link = "log"), control = tight)),
  log_odds_ratio = quote(glm(outcome ~ treated, family = quasibinomial(), control = tight)))

pooled <- function(mira, level) {
  p <- pool(mira)
  s <- summary(p, conf.int = TRUE, conf.level = level)
  r <- p$pooled[p$pooled$term == "treated", ]
  sr <- s[s$term == "treated", ]
  list(estimate = r$estimate, std_error = sr$std.error, df = r$df, ubar = r$ubar, b = r$b,
       riv = r$riv, fmi = r$fmi, dfcom = r$dfcom, p_value = sr$p.value,
       ci_lower = sr[[ncol(sr) - 1]], ci_upper = sr[[ncol(sr)]])
}

out <- list(versions = list(R = R.version.string, mice = as.character(packageVersion("mice")),
                            MatchIt = as.character(packageVersion("MatchIt")),
                            WeightIt = as.character(packageVersion("WeightIt")),
                            MatchThem = as.character(packageVersion("MatchThem"))))
for (name in names(scen)) {
  sc <- scen[[name]]
  mids <- as_mids(name, sc$y)
  f <- treated ~ age + sex + severity
  if (sc$method == "matching") {
    args <- list(formula = f, datasets = mids, approach = "within", method = "nearest",
                 distance = "glm", m.order = "largest", ratio = sc$ratio)
    if (!is.null(sc$caliper)) { args$caliper <- sc$caliper; args$link <- "linear.logit" }
    obj <- do.call(matchthem, args)
  } else {
    obj <- weightthem(f, datasets = mids, approach = "within", method = "glm",
                      estimand = sc$estimand)
  }
  # the data set each with() fit was made on (as MatchThem's with.mimids builds it)
  analysed <- function(i) if (sc$method == "matching")
    MatchIt::match.data(obj$models[[i]], data = mice::complete(obj$object, i)) else
    complete(obj, i)
  res <- list(n_analysed = sapply(seq_len(mids$m), function(i) nrow(analysed(i))))
  for (term in sc$terms) {
    fits <- eval(bquote(with(obj, .(model_for(term)))))
    for (i in seq_along(fits$analyses)) {
      fit <- fits$analyses[[i]]
      vc <- if (sc$method == "matching") vcovCL(fit, cluster = analysed(i)$subclass)
            else vcovHC(fit, type = "HC0")
      fits$analyses[[i]] <- coeftest(fit, vcov. = vc, save = TRUE)
    }
    res[[term]] <- pooled(fits, sc$level)
  }
  out[[name]] <- res
}
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), file = "expected.json")
