# Reference values for regmed.evidence's plan methods (issue 13): exact matching, propensity
# stratification, weighting effects (svyglm / lm + HC0 / coxph robust), confidence levels,
# g-computation (outcome regression with the delta method, HC0) and single-arm measures.
#   R_LIBS=/opt/rlib Rscript make_reference.R      (run in this folder; MatchIt 4.7.2)
# Inputs written here: lalonde_coarse.csv (MatchIt's lalonde with coarsened covariates and a
# binary outcome) and sim.csv (simulated: covariates, ps, binary/continuous/survival outcomes).
suppressMessages({library(MatchIt); library(sandwich); library(lmtest); library(survival)
                  library(survey); library(jsonlite)})
data("lalonde", package = "MatchIt")
L <- data.frame(id = rownames(lalonde), treat = lalonde$treat,
                agecat = as.character(cut(lalonde$age, c(0, 20, 25, 35, 100))),
                educcat = as.character(cut(lalonde$educ, c(-1, 8, 11, 12, 20))),
                race = lalonde$race, married = lalonde$married, nodegree = lalonde$nodegree,
                u74 = as.integer(lalonde$re74 == 0), re78 = lalonde$re78,
                employed = as.integer(lalonde$re78 > 0), stringsAsFactors = FALSE)
L$ps <- fitted(glm(treat ~ agecat + educcat + race + married + nodegree + u74, data = L,
                   family = binomial))
write.csv(L, "lalonde_coarse.csv", row.names = FALSE)

set.seed(20261202)
n <- 400
S <- data.frame(id = sprintf("p%03d", 1:n), x1 = round(rnorm(n), 3), x2 = round(rnorm(n), 3),
                bin = rbinom(n, 1, 0.4),
                grp = sample(c("a", "b", "c"), n, replace = TRUE), stringsAsFactors = FALSE)
lp <- -0.6 + 0.8 * S$x1 - 0.5 * S$x2 + 0.6 * S$bin + ifelse(S$grp == "b", 0.4, 0)
S$treat <- rbinom(n, 1, plogis(lp))
S$y <- rbinom(n, 1, plogis(-0.5 + 0.7 * S$treat + 0.6 * S$x1 + 0.4 * S$bin))
S$yc <- round(10 + 2 * S$treat + 1.5 * S$x1 - S$x2 + rnorm(n, sd = 3), 3)
tt <- rexp(n, 0.08 * exp(-0.5 * S$treat + 0.4 * S$x1))
cc <- runif(n, 5, 25)
S$time <- round(pmin(tt, cc), 2); S$event <- as.integer(tt <= cc)
S$x1cat <- as.character(cut(S$x1, c(-Inf, -0.5, 0.5, Inf), labels = c("lo", "mid", "hi")))
S$ps <- fitted(glm(treat ~ x1 + x2 + bin + grp, data = S, family = binomial))
write.csv(S, "sim.csv", row.names = FALSE)

num <- function(x) unname(as.numeric(x))
tight <- glm.control(epsilon = 1e-13, maxit = 50)  # converge fully (R default 1e-8)
lmrow <- function(fit, V, level, df = fit$df.residual) {
  ct <- coeftest(fit, vcov. = V, df = df)["treat", ]
  ci <- coefci(fit, vcov. = V, df = df, level = level)["treat", ]
  list(estimate = num(ct[1]), std_error = num(ct[2]), ci_lower = num(ci[1]),
       ci_upper = num(ci[2]), p_value = num(ct[4]))
}
# effects in an adjusted sample with weights, individual HC0 sandwich (no clusters), as the
# MatchIt vignette recommends robust (not cluster-robust) SEs after exact matching and
# subclassification (it shows HC3; regmed uses HC0 throughout, as WeightIt does).
effects <- function(d, y, level = 0.95, time = NULL) {
  d <- d[d$weights > 0, ]
  out <- list()
  f <- as.formula(paste(y, "~ treat"))
  fl <- lm(f, data = d, weights = weights)
  out$diff <- lmrow(fl, vcovHC(fl, type = "HC0"), level)
  if (all(d[[y]] %in% c(0, 1))) {
    fp <- glm(f, data = d, weights = weights, family = quasipoisson(link = "log"),
              control = tight)
    fb <- glm(f, data = d, weights = weights, family = quasibinomial(), control = tight)
    out$log_rr <- lmrow(fp, vcovHC(fp, type = "HC0"), level, Inf)
    out$log_or <- lmrow(fb, vcovHC(fb, type = "HC0"), level, Inf)
  }
  if (!is.null(time)) {
    cx <- coxph(Surv(time, event) ~ treat, data = d, weights = weights, robust = TRUE)
    s <- summary(cx, conf.int = level)
    out$log_hr <- list(estimate = num(coef(cx)), std_error = num(sqrt(diag(vcov(cx)))),
                       ci_lower = num(log(s$conf.int[, 3])), ci_upper = num(log(s$conf.int[, 4])),
                       p_value = num(s$coefficients[, 6]))
  }
  out
}

## 1. exact matching ------------------------------------------------------------------------
exact_case <- function(d, covs, estimand, y, time = NULL) {
  f <- reformulate(covs, "treat")
  m <- matchit(f, data = d, method = "exact", estimand = estimand)
  md <- d; md$weights <- num(m$weights); md$subclass <- num(m$subclass)
  list(covariates = covs, estimand = estimand, subclass = num(m$subclass),
       weights = num(m$weights), n_subclasses = nlevels(m$subclass),
       effects = effects(md, y, time = time))
}
lcov <- c("agecat", "educcat", "race", "married", "nodegree", "u74")
scov <- c("x1cat", "bin", "grp")
exact <- list()
for (est in c("ATT", "ATC", "ATE")) {
  exact[[paste0("lalonde_", est)]] <- c(list(data = "lalonde_coarse.csv", outcome = "employed"),
                                         exact_case(L, lcov, est, "employed"))
  exact[[paste0("sim_", est)]] <- c(list(data = "sim.csv", outcome = "y"),
                                     exact_case(S, scov, est, "y", time = TRUE))
}

## 2. propensity stratification (method = "subclass") ---------------------------------------
sub_case <- function(d, k, estimand, y, time = NULL, min.n = 1) {
  m <- matchit(treat ~ ps, data = d, method = "subclass", distance = d$ps, subclass = k,
               estimand = estimand, min.n = min.n)
  md <- d; md$weights <- num(m$weights); md$subclass <- num(m$subclass)
  list(n_subclasses = k, estimand = estimand, min_n = min.n, subclass = num(m$subclass),
       weights = num(m$weights), q_cut = num(m$q.cut), effects = effects(md, y, time = time))
}
strat <- list()
for (est in c("ATT", "ATC", "ATE")) {
  strat[[paste0("lalonde_5_", est)]] <- c(list(data = "lalonde_coarse.csv", outcome = "re78"),
                                         sub_case(L, 5, est, "re78"))
  strat[[paste0("sim_5_", est)]] <- c(list(data = "sim.csv", outcome = "y"),
                                     sub_case(S, 5, est, "y", time = TRUE))
}
strat$sim_8_ATT <- c(list(data = "sim.csv", outcome = "yc"), sub_case(S, 8, "ATT", "yc"))
# many subclasses: empty subclasses in one group are filled by MatchIt's subclass_scoot
S40 <- S[order(S$ps), ][c(1:30, 371:400), ]
write.csv(S40, "sim_small.csv", row.names = FALSE)
strat$small_10_ATT <- c(list(data = "sim_small.csv", outcome = "yc"),
                        sub_case(S40, 10, "ATT", "yc"))
strat$small_10_ATE_min2 <- c(list(data = "sim_small.csv", outcome = "yc"),
                             sub_case(S40, 6, "ATE", "yc", min.n = 2))

## 3. weighting: WeightIt's formulas; svyglm, lm + HC0 and coxph(robust = TRUE) -------------
wfun <- function(e, t, estimand) switch(estimand,
  ATE = ifelse(t == 1, 1 / e, 1 / (1 - e)),
  ATT = ifelse(t == 1, 1, e / (1 - e)),
  ATO = ifelse(t == 1, 1 - e, e))
weighting <- list()
for (est in c("ATT", "ATE", "ATO")) {
  d <- S; d$weights <- wfun(S$ps, S$treat, est)
  des <- svydesign(ids = ~1, weights = ~weights, data = d)
  sv <- list(
    rd = svyglm(y ~ treat, design = des),
    md = svyglm(yc ~ treat, design = des),
    log_or = svyglm(y ~ treat, design = des, family = quasibinomial(), control = tight),
    log_rr = svyglm(y ~ treat, design = des, family = quasipoisson(link = "log"),
                    control = tight))
  weighting[[est]] <- list(
    estimand = est, weights = num(d$weights),
    svyglm = lapply(sv, function(f) list(estimate = num(coef(f)["treat"]),
                                         std_error = num(sqrt(diag(vcov(f)))["treat"]))),
    binary = effects(d, "y", time = TRUE), continuous = effects(d, "yc"))
}

## 4. confidence levels: ATT weighting on sim, RD/RR/OR/MD, HR and RMST ----------------------
levels_out <- list()
d <- S; d$weights <- wfun(S$ps, S$treat, "ATT")
tau <- min(tapply(d$time, d$treat, max))
km <- survfit(Surv(time, event) ~ treat, data = d, weights = weights)
rm <- summary(km, rmean = tau)$table
for (lev in c(0.80, 0.90, 0.95)) {
  b <- effects(d, "y", level = lev, time = TRUE); cc2 <- effects(d, "yc", level = lev)
  dr <- num(rm[2, "rmean"] - rm[1, "rmean"]); se <- sqrt(sum(num(rm[, "se(rmean)"])^2))
  z <- qnorm(0.5 + lev / 2)
  levels_out[[sprintf("%.2f", lev)]] <- list(level = lev, binary = b, continuous = cc2,
    rmst = list(estimate = dr, std_error = se, ci_lower = dr - z * se, ci_upper = dr + z * se,
                tau = tau))
}

## 5. g-computation by hand: glm + vcovHC(HC0) + delta method ---------------------------------
# As marginaleffects::avg_comparisons(fit, variables = "treat", vcov = "HC0",
#   newdata = subset(treat == 1) for the ATT): RD with comparison = "difference", RR and OR as
#   "lnratioavg"/"lnoravg" (log scale, exponentiated), normal-theory intervals.
gcomp <- function(d, f, family, estimand, level) {
  fit <- glm(f, data = d, family = family, control = tight)
  V <- vcovHC(fit, type = "HC0")
  nd <- if (estimand == "ATT") d[d$treat == 1, ] else d
  X1 <- model.matrix(delete.response(terms(fit)), transform(nd, treat = 1))
  X0 <- model.matrix(delete.response(terms(fit)), transform(nd, treat = 0))
  inv <- family$linkinv
  mu <- function(b) c(mean(inv(X1 %*% b)), mean(inv(X0 %*% b)))
  trans <- list(difference = function(m) m[1] - m[2], log_ratio = function(m) log(m[1] / m[2]),
                log_odds_ratio = function(m) qlogis(m[1]) - qlogis(m[2]))
  # d g / d (m1, m0) for the analytic jacobian
  dtrans <- list(difference = function(m) c(1, -1), log_ratio = function(m) 1 / m * c(1, -1),
                 log_odds_ratio = function(m) 1 / (m * (1 - m)) * c(1, -1))
  if (family$family == "gaussian") trans <- trans["difference"]
  b <- coef(fit); z <- qnorm(0.5 + level / 2)
  D <- rbind(colMeans(family$mu.eta(drop(X1 %*% b)) * X1),
             colMeans(family$mu.eta(drop(X0 %*% b)) * X0))
  lapply(setNames(names(trans), names(trans)), function(nm) {
    g <- trans[[nm]]; est <- g(mu(b))
    J <- drop(dtrans[[nm]](mu(b)) %*% D)                      # analytic chain rule
    # forward-difference jacobian as marginaleffects does (a check: agrees to ~1e-6)
    Jn <- sapply(seq_along(b), function(j) { h <- max(abs(b[j]), 1) * 1e-7; bb <- b
      bb[j] <- bb[j] + h; (g(mu(bb)) - est) / h })
    se <- sqrt(num(t(J) %*% V %*% J))
    list(estimate = est, std_error = se, std_error_numeric = sqrt(num(t(Jn) %*% V %*% Jn)),
         ci_lower = est - z * se, ci_upper = est + z * se,
         p_value = 2 * pnorm(-abs(est / se)), risk_treated = mu(b)[1], risk_control = mu(b)[2])
  })
}
gc <- list()
cov_f <- "treat + x1 + x2 + bin + grp"
for (est in c("ATT", "ATE")) for (lev in c(0.80, 0.95)) {
  key <- sprintf("%s_%.2f", est, lev)
  gc[[paste0("cov_binary_", key)]] <- list(kind = "binary", estimand = est, level = lev,
    adjust = "covariates", result = gcomp(S, as.formula(paste("y ~", cov_f)), binomial(), est, lev))
  gc[[paste0("cov_continuous_", key)]] <- list(kind = "continuous", estimand = est, level = lev,
    adjust = "covariates", result = gcomp(S, as.formula(paste("yc ~", cov_f)), gaussian(), est, lev))
  S$lps <- qlogis(S$ps)
  gc[[paste0("ps_binary_", key)]] <- list(kind = "binary", estimand = est, level = lev,
    adjust = "ps", result = gcomp(S, y ~ treat + lps, binomial(), est, lev))
  gc[[paste0("ps_continuous_", key)]] <- list(kind = "continuous", estimand = est, level = lev,
    adjust = "ps", result = gcomp(S, yc ~ treat + lps, gaussian(), est, lev))
}
# survival: covariate adjustment is the conditional (adjusted) Cox hazard ratio, robust SE
for (lev in c(0.80, 0.95)) {
  cx <- coxph(Surv(time, event) ~ treat + x1 + x2 + bin + grp, data = S, robust = TRUE)
  s <- summary(cx, conf.int = lev)
  gc[[sprintf("cov_survival_%.2f", lev)]] <- list(kind = "survival", level = lev,
    result = list(estimate = num(coef(cx)["treat"]), std_error = num(sqrt(vcov(cx)["treat", "treat"])),
                  ci_lower = num(log(s$conf.int["treat", 3])), ci_upper = num(log(s$conf.int["treat", 4]))))
}

## 6. single arm ------------------------------------------------------------------------------
T1 <- S[S$treat == 1, ]
single <- list()
for (lev in c(0.80, 0.90, 0.95)) {
  bt <- binom.test(sum(T1$y), nrow(T1), p = 0.5, conf.level = lev)
  tt2 <- t.test(T1$yc, mu = 11, conf.level = lev)
  sf <- survfit(Surv(time, event) ~ 1, data = T1, conf.type = "log", conf.int = lev)
  q <- quantile(sf, 0.5)
  single[[sprintf("%.2f", lev)]] <- list(level = lev,
    proportion = list(estimate = num(bt$estimate), ci_lower = bt$conf.int[1],
                      ci_upper = bt$conf.int[2], p_value = bt$p.value, null = 0.5,
                      events = sum(T1$y), n = nrow(T1)),
    mean = list(estimate = num(tt2$estimate), std_error = num(tt2$stderr),
                ci_lower = tt2$conf.int[1], ci_upper = tt2$conf.int[2], p_value = tt2$p.value,
                null = 11, n = nrow(T1)),
    median_survival = list(estimate = num(q$quantile), ci_lower = num(q$lower),
                           ci_upper = num(q$upper), n = nrow(T1), events = sum(T1$event)))
}

# heavy censoring: the upper limit of the median's interval is not reached (NA in R)
H <- T1[1:60, c("id", "time", "event")]
H$event[H$time > 11] <- 0L; H$time <- pmin(H$time, 11.5)
write.csv(H, "single_censored.csv", row.names = FALSE)
q <- quantile(survfit(Surv(time, event) ~ 1, data = H, conf.type = "log"), 0.5)
single$censored <- list(level = 0.95, median_survival = list(estimate = num(q$quantile),
  ci_lower = num(q$lower), ci_upper = num(q$upper)))

out <- list(exact = exact, stratify = strat, weighting = weighting, levels = levels_out,
            gcomputation = gc, single_arm = single,
            versions = list(MatchIt = as.character(packageVersion("MatchIt")),
                            survival = as.character(packageVersion("survival")),
                            sandwich = as.character(packageVersion("sandwich")),
                            survey = as.character(packageVersion("survey")),
                            R = R.version.string))
cat(toJSON(out, auto_unbox = TRUE, digits = I(15), pretty = FALSE, na = "null"),
    file = "expected.json")
