# Reference numbers of the plan-variant test matrix (issue 13; tests/evaluate/test_plan_matrix.py).
#   R_LIBS=/opt/rlib Rscript make_reference.R          (run in this folder; MatchIt 4.7.2)
# Inputs: the analysis data sets regmed evaluate exported from the seeded demo registries
# (rows before adjustment: pseudonym, treated, the plan's covariates, outcome or time/event),
# listed with their covariates in inputs.json. For every method x estimand x confidence level:
#   exact_matching            matchit(method = "exact"), effect in the matched data;
#   propensity_stratification matchit(method = "subclass", subclass = k) on the logistic PS;
#   the effect: lm(outcome ~ treated, weights) + vcovHC(type = "HC0") with t intervals
#   (the MatchIt vignette "Estimating Effects After Matching"), coxph(robust = TRUE) for time
#   to event;
#   propensity_covariate      glm(outcome ~ treated + qlogis(ps)), g-computation;
#   covariate_adjustment      glm(outcome ~ treated + covariates), g-computation;
#   g-computation: the mean prediction with treated set to 1 and 0 over the treated (ATT) or
#   everyone (ATE), delta-method SE with vcovHC(type = "HC0"), normal intervals, as
#   marginaleffects::avg_comparisons(fit, variables = "treated", vcov = "HC0",
#   newdata = subset(treated == 1)) (marginaleffects is not installed here; its analytic
#   equivalent is computed by hand, as in tests/reference/evidence/methods/make_reference.R).
suppressMessages({library(MatchIt); library(sandwich); library(lmtest); library(survival)
                  library(jsonlite)})
tight <- glm.control(epsilon = 1e-13, maxit = 100)
num <- function(x) unname(as.numeric(x))
inputs <- fromJSON("inputs.json", simplifyVector = TRUE)

effect_lm <- function(d, level) {
  d <- d[d$weights > 0, ]
  fit <- lm(outcome ~ treated, data = d, weights = weights)
  V <- vcovHC(fit, type = "HC0")
  ct <- coeftest(fit, vcov. = V, df = fit$df.residual)["treated", ]
  ci <- coefci(fit, vcov. = V, df = fit$df.residual, level = level)["treated", ]
  list(estimate = num(ct[1]), std_error = num(ct[2]), ci_lower = num(ci[1]),
       ci_upper = num(ci[2]), n_treated = sum(d$treated == 1), n_control = sum(d$treated == 0))
}

effect_cox <- function(d, level) {
  d <- d[d$weights > 0, ]
  cx <- coxph(Surv(time, event) ~ treated, data = d, weights = weights, robust = TRUE)
  s <- summary(cx, conf.int = level)
  list(estimate = num(exp(coef(cx))), std_error = num(sqrt(vcov(cx)[1, 1])),
       ci_lower = num(s$conf.int[1, 3]), ci_upper = num(s$conf.int[1, 4]),
       n_treated = sum(d$treated == 1), n_control = sum(d$treated == 0))
}

gcomp <- function(d, f, family, estimand, level) {
  fit <- glm(f, data = d, family = family, control = tight)
  V <- vcovHC(fit, type = "HC0")
  nd <- if (estimand == "ATT") d[d$treated == 1, ] else d
  X1 <- model.matrix(delete.response(terms(fit)), transform(nd, treated = 1))
  X0 <- model.matrix(delete.response(terms(fit)), transform(nd, treated = 0))
  b <- coef(fit)
  m1 <- mean(family$linkinv(drop(X1 %*% b))); m0 <- mean(family$linkinv(drop(X0 %*% b)))
  J <- colMeans(family$mu.eta(drop(X1 %*% b)) * X1) - colMeans(family$mu.eta(drop(X0 %*% b)) * X0)
  se <- sqrt(num(t(J) %*% V %*% J)); est <- m1 - m0; z <- qnorm(0.5 + level / 2)
  list(estimate = est, std_error = se, ci_lower = est - z * se, ci_upper = est + z * se,
       n_treated = sum(d$treated == 1), n_control = sum(d$treated == 0))
}

results <- list()
units <- list()   # per data set: pseudonym and PS; per method x estimand: weights, subclass
for (name in names(inputs)) {
  info <- inputs[[name]]
  d <- read.csv(name, stringsAsFactors = FALSE)
  covs <- info$covariates
  ps_fit <- glm(reformulate(covs, "treated"), data = d, family = binomial, control = tight)
  d$ps <- num(fitted(ps_fit))
  units[[name]] <- list(pseudonym = d$pseudonym, ps = d$ps)
  survival_kind <- info$kind == "survival"
  for (est in info$estimands) for (lev in info$levels) {
    tag <- function(method) sprintf("%s|%s|%s|%.2f", name, method, est, lev)
    eff <- function(md) if (survival_kind) effect_cox(md, lev) else effect_lm(md, lev)
    # exact matching on the categorical prognostic factors
    m <- matchit(reformulate(info$exact_covariates, "treated"), data = d, method = "exact",
                 estimand = est)
    md <- d; md$weights <- num(m$weights)
    results[[tag("exact_matching")]] <- eff(md)
    units[[sprintf("%s|exact_matching|%s", name, est)]] <- list(
      weights = num(m$weights), subclass = num(m$subclass))
    # propensity stratification with the plan's number of subclasses
    m <- matchit(reformulate(covs, "treated"), data = d, method = "subclass",
                 distance = d$ps, subclass = info$subclasses, estimand = est)
    md <- d; md$weights <- num(m$weights)
    results[[tag("propensity_stratification")]] <- eff(md)
    units[[sprintf("%s|propensity_stratification|%s", name, est)]] <- list(
      weights = num(m$weights), subclass = num(m$subclass))
    if (!survival_kind) {
      fam <- if (info$kind == "binary") binomial() else gaussian()
      d$lps <- qlogis(d$ps)
      results[[tag("propensity_covariate")]] <- gcomp(d, outcome ~ treated + lps, fam, est, lev)
      results[[tag("covariate_adjustment")]] <- gcomp(
        d, reformulate(c("treated", covs), "outcome"), fam, est, lev)
    }
  }
}
out <- list(results = results, units = units,
            versions = list(R = R.version.string, MatchIt = as.character(packageVersion("MatchIt")),
                            sandwich = as.character(packageVersion("sandwich")),
                            survival = as.character(packageVersion("survival"))))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE), "expected.json")
