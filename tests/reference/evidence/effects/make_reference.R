# Reference values for regmed.evidence.estimate_effect (binary and continuous outcomes).
# Inputs are fixed adjusted samples (weights, subclass) written to CSV here; effects and their
# design-based standard errors come from lm/glm + sandwich 3.x + lmtest, as the MatchIt
# "Estimating effects" vignette does:
#   matching without replacement: vcovCL(fit, cluster = ~subclass)  (lm: HC1 default, glm: HC0,
#                                 both with the G/(G-1) cluster adjustment)
#   weighting:                    vcovHC(fit, type = "HC0")          (individual sandwich)
# The matched sets come from Debian's MatchIt 4.5.1 without caliper: they are only used as fixed
# inputs here (the matching itself is checked elsewhere against MatchIt 4.7.2).
# Run: Rscript make_reference.R  (from this folder)
suppressMessages({library(MatchIt); library(sandwich); library(lmtest); library(jsonlite)})
data("lalonde", package = "MatchIt")
lalonde$id <- rownames(lalonde)
lalonde$employed <- as.integer(lalonde$re78 > 0)
f <- treat ~ age + educ + race + married + nodegree + re74 + re75
keep <- c("id", "treat", "age", "re78", "employed")

m1 <- matchit(f, data = lalonde, method = "nearest", m.order = "largest")
md1 <- match.data(m1)[, c(keep, "weights", "subclass")]
m2 <- matchit(f, data = lalonde, method = "nearest", m.order = "largest", ratio = 2)
md2 <- match.data(m2)[, c(keep, "weights", "subclass")]
ps <- fitted(glm(f, data = lalonde, family = binomial))
att <- lalonde[, keep]; att$weights <- ifelse(lalonde$treat == 1, 1, ps / (1 - ps))
ate <- lalonde[, keep]; ate$weights <- ifelse(lalonde$treat == 1, 1 / ps, 1 / (1 - ps))
# a small sample with a few large clusters (three controls share one subclass)
set.seed(11)
sm <- md1[sample(nrow(md1), 60), ]
sm$subclass <- as.integer(factor(sm$subclass)) %% 12 + 1

write.csv(md1, "lalonde_nn1.csv", row.names = FALSE)
write.csv(md2, "lalonde_nn2.csv", row.names = FALSE)
write.csv(att, "lalonde_iptw_att.csv", row.names = FALSE)
write.csv(ate, "lalonde_iptw_ate.csv", row.names = FALSE)
write.csv(sm, "lalonde_small_clusters.csv", row.names = FALSE)

row <- function(fit, V, df) {
  ct <- coeftest(fit, vcov. = V, df = df)["treat", ]
  ci <- coefci(fit, vcov. = V, df = df)["treat", ]
  list(estimate = unname(ct[1]), std_error = unname(ct[2]), statistic = unname(ct[3]),
       p_value = unname(ct[4]), ci_lower = unname(ci[1]), ci_upper = unname(ci[2]))
}
effects <- function(d, clustered) {
  vc <- function(fit) if (clustered) vcovCL(fit, cluster = ~subclass) else vcovHC(fit, type = "HC0")
  fc <- lm(re78 ~ treat, data = d, weights = weights)
  fb <- lm(employed ~ treat, data = d, weights = weights)
  fr <- glm(employed ~ treat, data = d, weights = weights, family = quasipoisson(link = "log"))
  fo <- glm(employed ~ treat, data = d, weights = weights, family = quasibinomial())
  list(mean_difference = row(fc, vc(fc), fc$df.residual),
       risk_difference = row(fb, vc(fb), fb$df.residual),
       log_risk_ratio = row(fr, vc(fr), Inf),
       log_odds_ratio = row(fo, vc(fo), Inf),
       n_treated = sum(d$treat == 1), n_control = sum(d$treat == 0),
       risk_treated = weighted.mean(d$employed[d$treat == 1], d$weights[d$treat == 1]),
       risk_control = weighted.mean(d$employed[d$treat == 0], d$weights[d$treat == 0]))
}
out <- list(
  nn1 = effects(md1, TRUE), nn2 = effects(md2, TRUE), small_clusters = effects(sm, TRUE),
  iptw_att = effects(att, FALSE), iptw_ate = effects(ate, FALSE),
  versions = list(R = R.version.string, sandwich = as.character(packageVersion("sandwich")),
                  lmtest = as.character(packageVersion("lmtest"))))
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file = "expected.json")
