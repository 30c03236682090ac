# Reference values for regmed.evidence.fit_propensity / weight / balance (weights).
# glm from R's stats; weights by their definitions (WeightIt's get_w_from_ps); balance
# statistics with MatchIt 4.7.2's own bal1var (the function behind summary.matchit),
# s.d.denom "treated" for the ATT and "pooled" for ATE/ATO as cobalt does.
#   R_LIBS=/path/to/private/lib Rscript make_weighting.R   (run in this folder)
suppressMessages({library(MatchIt); library(jsonlite)})
sets <- list(
  lalonde = list(data = read.csv("../matchit/lalonde.csv", stringsAsFactors = FALSE),
                 f = treat ~ age + educ + race + married + nodegree + re74 + re75),
  sim = list(data = read.csv("../matchit/sim.csv", stringsAsFactors = FALSE),
             f = treat ~ x1 + x2 + x3 + bin + site))
wfun <- function(e, t, estimand) switch(estimand,
  ATE = ifelse(t == 1, 1 / e, 1 / (1 - e)),
  ATT = ifelse(t == 1, 1, e / (1 - e)),
  ATO = ifelse(t == 1, 1 - e, e))
ess <- function(w) sum(w)^2 / sum(w^2)
bal <- function(X, t, w, estimand) {
  denom <- if (estimand == "ATT") "treated" else "pooled"
  lapply(setNames(colnames(X), colnames(X)), function(v) {
    b <- MatchIt:::bal1var(X[, v], tt = t, ww = w, s.weights = rep(1, length(t)),
                           s.d.denom = denom, standardize = TRUE, compute.pair.dist = FALSE)
    as.list(b[1:6])
  })
}
out <- lapply(sets, function(s) {
  d <- s$data; t <- d$treat
  g <- glm(s$f, data = d, family = binomial)
  e <- fitted(g); lp <- predict(g, type = "link")
  X <- MatchIt:::get_covs_matrix(s$f, data = d)
  share <- mean(t)
  pref <- plogis(lp - qlogis(share))
  r <- rank(e); n1 <- sum(t); n0 <- sum(1 - t)
  auc <- (sum(r[t == 1]) - n1 * (n1 + 1) / 2) / (n1 * n0)
  cases <- list()
  for (est in c("ATT", "ATE", "ATO")) {
    w <- wfun(e, t, est)
    cases[[est]] <- list(estimand = est, weights = unname(w),
                         ess_treated = ess(w[t == 1]), ess_control = ess(w[t == 0]),
                         balance = bal(X, t, w, est))
  }
  keep <- e >= 0.05 & e <= 0.95
  w <- wfun(e[keep], t[keep], "ATE")
  cases$ATE_trim005 <- list(estimand = "ATE", trim = 0.05, kept = which(keep) - 1L,
                            weights = unname(w), ess_treated = ess(w[t[keep] == 1]),
                            ess_control = ess(w[t[keep] == 0]))
  w <- wfun(e, t, "ATE")
  for (g1 in 0:1) { q <- quantile(w[t == g1], 0.95, type = 7); w[t == g1 & w > q] <- q }
  cases$ATE_truncate095 <- list(estimand = "ATE", truncate = 0.95, weights = unname(w),
                                ess_treated = ess(w[t == 1]), ess_control = ess(w[t == 0]))
  w <- wfun(e, t, "ATE") * ifelse(t == 1, share, 1 - share)
  cases$ATE_stabilized <- list(estimand = "ATE", stabilize = TRUE, weights = unname(w))
  list(coef = as.list(coef(g)), se = as.list(sqrt(diag(vcov(g)))), deviance = deviance(g),
       iterations = g$iter, ps = unname(e), logit_ps = unname(lp), auc = auc,
       preference = unname(pref), equipoise = mean(pref >= 0.3 & pref <= 0.7), cases = cases)
})
out$versions <- list(MatchIt = as.character(packageVersion("MatchIt")), R = R.version.string)
cat(toJSON(out, auto_unbox = TRUE, digits = I(15), pretty = FALSE), file = "expected.json")
