# Multiple-imputation references for regmed.evidence.pool / analyze_imputed (issue 13).
# R 4.2 (Debian) with mice 3.15, sandwich, lmtest, jsonlite; MatchIt 4.7.2 from /opt/rlib:
#   cd tests/reference/evaluate/mi && R_LIBS=/opt/rlib Rscript make_reference.R
# Writes: incomplete.csv (the data with NAs), imputed_long.csv (mice's m = 5 completed sets,
# complete(imp, "long")), expected.json (mice::pool results on fits R made on those sets).
# MatchThem is not available (it needs WeightIt, which needs a newer ggplot2 than Debian's),
# so its steps are done by hand: for every imputed set matchit() + match.data() + lm/glm +
# lmtest::coeftest(vcov. = sandwich::vcovCL(fit, cluster = subclass)), then
# mice::pool(as.mira(list_of_fits)) -- what MatchThem's matchthem() + with() + pool() do;
# likewise weightthem(): WeightIt's weight formulas + lm + sandwich::vcovHC(type = "HC0").
suppressPackageStartupMessages({
  library(mice); library(MatchIt); library(sandwich); library(lmtest); library(jsonlite)
})
stopifnot(as.character(packageVersion("mice")) == "3.15.0",
          as.character(packageVersion("MatchIt")) == "4.7.2")

set.seed(20261202)
n <- 400
x1 <- rnorm(n, 50, 10)
x2 <- rbinom(n, 1, 0.4)
x3 <- rnorm(n)
treat <- rbinom(n, 1, plogis(-4 + 0.07 * x1 + 0.6 * x2 + 0.3 * x3))
y <- 10 + 2 * treat + 0.3 * x1 + 1.5 * x2 + x3 + rnorm(n, 0, 3)
ybin <- rbinom(n, 1, plogis(-3 + 0.8 * treat + 0.05 * x1 + 0.5 * x2))
d <- data.frame(id = sprintf("P%03d", 1:n), treat, x1, x2, x3, y, ybin)
# MAR missingness driven by observed columns
d$x1[runif(n) < plogis(-2 + 0.8 * treat + 0.3 * x3)] <- NA
d$x2[runif(n) < plogis(-2.2 + 0.02 * (y - 25))] <- NA
d$y[runif(n) < plogis(-2.5 + 0.9 * x2 + 0.4 * treat)] <- NA
d$ybin[runif(n) < plogis(-2.4 + 0.5 * x3)] <- NA
write.csv(d, "incomplete.csv", row.names = FALSE, na = "")

dd <- d[, c("treat", "x1", "x2", "x3", "y", "ybin")]
dd$x2 <- factor(dd$x2); dd$ybin <- factor(dd$ybin)          # binary -> logreg
imp <- mice(dd, m = 5, maxit = 10, seed = 4711, printFlag = FALSE)
long <- complete(imp, "long")
long$x2 <- as.integer(as.character(long$x2)); long$ybin <- as.integer(as.character(long$ybin))
long$id <- d$id[long$.id]
write.csv(long, "imputed_long.csv", row.names = FALSE)
sets <- lapply(1:5, function(i) long[long$.imp == i, ])

pooled <- function(fits, conf_level) {
  p <- pool(as.mira(fits))
  s <- summary(p, conf.int = TRUE, conf.level = conf_level)
  out <- p$pooled[, c("term", "m", "estimate", "ubar", "b", "t", "dfcom", "df", "riv", "lambda", "fmi")]
  out$std_error <- s$std.error; out$statistic <- s$statistic; out$p_value <- s$p.value
  out$ci_lower <- s[[ncol(s) - 1]]; out$ci_upper <- s[[ncol(s)]]
  out$term <- as.character(out$term)
  out
}
per_fit <- function(fits) lapply(fits, function(f) data.frame(term = rownames(f),
  estimate = unname(f[, 1]), std_error = unname(f[, 2])))
hc0 <- function(f) coeftest(f, vcov. = vcovHC(f, type = "HC0"), save = TRUE)

out <- list(versions = list(R = R.version.string, mice = as.character(packageVersion("mice")),
                            MatchIt = as.character(packageVersion("MatchIt"))))
# 1. pool(): regression fits with HC0 sandwich SEs on each imputed set
lm_fits <- lapply(sets, function(s) hc0(lm(y ~ treat + x1 + x2 + x3, data = s)))
# glm() stops its IRLS on the deviance and keeps the working weights of the previous
# iterate, so its sandwich is off the MLE's in the 8th digit; a second fit started at the
# estimate (one more Fisher step) gives the exact MLE's sandwich that regmed computes.
tight <- glm.control(epsilon = 1e-14, maxit = 100)
glm2 <- function(formula, data, family, w = NULL) {
  data$.w <- if (is.null(w)) 1 else w
  f <- glm(formula, data = data, weights = .w, family = family, control = tight)
  glm(formula, data = data, weights = .w, family = family, control = tight, start = coef(f))
}
glm_fits <- lapply(sets, function(s) hc0(glm2(ybin ~ treat + x1 + x2, s, binomial)))
out$pool_lm <- list(formula = "y ~ treat + x1 + x2 + x3", fits = per_fit(lm_fits),
                    conf_095 = pooled(lm_fits, 0.95), conf_080 = pooled(lm_fits, 0.80))
out$pool_glm <- list(formula = "ybin ~ treat + x1 + x2 (binomial)", fits = per_fit(glm_fits),
                     conf_095 = pooled(glm_fits, 0.95), conf_080 = pooled(glm_fits, 0.80))

# 2. MatchThem by hand: PS matching within each imputed set, then pool
matched <- function(s, ...) {
  m <- matchit(treat ~ x1 + x2 + x3, data = s, method = "nearest", distance = "glm",
               m.order = "largest", ...)
  match.data(m)
}
cl <- function(f, md) coeftest(f, vcov. = vcovCL(f, cluster = md$subclass), save = TRUE)
scenarios <- list(
  nn_caliper02_logit = list(ratio = 1, caliper = 0.2, link = "linear.logit"),
  nn_1to2_caliper01_ps = list(ratio = 2, caliper = 0.1),
  nn_1to1 = list(ratio = 1))
out$matchthem <- list()
for (nm in names(scenarios)) {
  mds <- lapply(sets, function(s) do.call(matched, c(list(s), scenarios[[nm]])))
  cont <- lapply(mds, function(md) cl(lm(y ~ treat, data = md, weights = weights), md))
  rd <- lapply(mds, function(md) cl(lm(ybin ~ treat, data = md, weights = weights), md))
  lor <- lapply(mds, function(md) cl(glm2(ybin ~ treat, md, quasibinomial(), md$weights), md))
  lrr <- lapply(mds, function(md) cl(glm2(ybin ~ treat, md, quasipoisson(link = "log"),
                                          md$weights), md))
  sc <- scenarios[[nm]]
  out$matchthem[[nm]] <- list(
    options = list(ratio = sc$ratio, caliper = if (is.null(sc$caliper)) NA else sc$caliper,
                   caliper_scale = if (is.null(sc$link)) "ps" else "logit"),
    n_matched = sapply(mds, nrow),
    mean_difference = pooled(cont, 0.95), risk_difference = pooled(rd, 0.95),
    log_odds_ratio = pooled(lor, 0.95), log_risk_ratio = pooled(lrr, 0.95))
}
# 2b. WeightThem by hand: PS weights (WeightIt's formulas) within each imputed set, lm with
#     the HC0 sandwich (WeightIt's default), then pool
ps_weights <- function(s, estimand) {
  e <- fitted(glm(treat ~ x1 + x2 + x3, family = binomial, data = s))
  switch(estimand, ATE = ifelse(s$treat == 1, 1 / e, 1 / (1 - e)),
         ATT = ifelse(s$treat == 1, 1, e / (1 - e)),
         ATO = ifelse(s$treat == 1, 1 - e, e))
}
out$weightthem <- list()
for (est in c("ATE", "ATT", "ATO")) {
  fits <- lapply(sets, function(s) {
    s$w <- ps_weights(s, est); hc0(lm(y ~ treat, data = s, weights = w))
  })
  out$weightthem[[est]] <- list(mean_difference = pooled(fits, 0.95))
}

# 3. mice's own imputations with m = 50 on the same data: regmed's impute() must agree in
#    distribution (pooled estimate and fmi of the treatment coefficient)
imp50 <- mice(dd, m = 50, maxit = 10, seed = 99, printFlag = FALSE)
fits50 <- lapply(1:50, function(i) {
  s <- complete(imp50, i); s$x2 <- as.integer(as.character(s$x2)); hc0(lm(y ~ treat + x1 + x2 + x3, data = s))
})
out$mice_m50 <- list(formula = "y ~ treat + x1 + x2 + x3", methods = as.list(imp50$method),
                     pooled = pooled(fits50, 0.95))
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), file = "expected.json")
