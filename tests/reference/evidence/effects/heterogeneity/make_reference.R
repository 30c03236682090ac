# Reference values for regmed.evidence.heterogeneity: per-site effects, Cochran's Q and I^2
# (metafor escalc + rma FE/DL), Mantel-Haenszel OR/RR/RD (metafor rma.mh, mantelhaen.test),
# and the calendar-time trend (glm binomial on year).
suppressMessages({library(metafor); library(jsonlite)})
set.seed(4)
sites <- c("A", "B", "C", "D", "E", "F")
d <- do.call(rbind, lapply(seq_along(sites), function(i) {
  n <- c(40, 60, 35, 80, 25, 50)[i]
  treat <- rbinom(n, 1, 0.5)
  p0 <- c(0.2, 0.3, 0.15, 0.25, 0.0, 0.35)[i]
  p1 <- pmin(p0 + c(0.15, 0.3, 0.05, 0.2, 0.25, 0.0)[i], 0.95)
  y <- rbinom(n, 1, ifelse(treat == 1, p1, p0))
  score <- round(rnorm(n, 50 + 4 * treat + i, 10), 2)
  year <- sample(2014:2023, n, replace = TRUE)
  data.frame(site = sites[i], treat = treat, y = y, score = score, year = year)
}))
write.csv(d, "sites.csv", row.names = FALSE)
tab <- aggregate(cbind(a = y * treat, n1 = treat, c = y * (1 - treat), n0 = 1 - treat) ~ site,
                 data = d, FUN = sum)
tab$b <- tab$n1 - tab$a; tab$dd <- tab$n0 - tab$c
het <- function(measure) {
  es <- escalc(measure = measure, ai = a, bi = b, ci = c, di = dd, data = tab)
  fe <- rma(yi, vi, data = es, method = "FE")
  dl <- rma(yi, vi, data = es, method = "DL")
  list(site = tab$site, yi = as.numeric(es$yi), vi = as.numeric(es$vi),
       fe = unname(coef(fe)), fe_se = fe$se, q = fe$QE, q_p = fe$QEp, i2_fe = fe$I2,
       dl = unname(coef(dl)), dl_se = dl$se, tau2 = dl$tau2, i2 = dl$I2)
}
ms <- aggregate(score ~ site + treat, data = d, FUN = mean)
ss <- aggregate(score ~ site + treat, data = d, FUN = sd)
ns <- aggregate(score ~ site + treat, data = d, FUN = length)
m1 <- ms[ms$treat == 1, ]; m0 <- ms[ms$treat == 0, ]
es <- escalc(measure = "MD", m1i = m1$score, sd1i = ss$score[ss$treat == 1],
             n1i = ns$score[ns$treat == 1], m2i = m0$score, sd2i = ss$score[ss$treat == 0],
             n2i = ns$score[ns$treat == 0])
fe <- rma(yi, vi, data = es, method = "FE"); dl <- rma(yi, vi, data = es, method = "DL")
md <- list(yi = as.numeric(es$yi), vi = as.numeric(es$vi), fe = unname(coef(fe)), fe_se = fe$se,
           q = fe$QE, q_p = fe$QEp, dl = unname(coef(dl)), dl_se = dl$se, tau2 = dl$tau2,
           i2 = dl$I2)
mh <- function(measure) {
  f <- rma.mh(ai = a, bi = b, ci = c, di = dd, data = tab, measure = measure)
  list(estimate = unname(coef(f)), se = f$se, ci_lower = f$ci.lb, ci_upper = f$ci.ub,
       cmh = if (is.null(f$CMH)) NULL else f$CMH, cmh_p = if (is.null(f$CMHp)) NULL else f$CMHp)
}
arr <- xtabs(~ factor(treat, levels = 1:0) + factor(y, levels = 1:0) + site, data = d)
mt <- mantelhaen.test(arr)
g <- glm(y ~ year, data = d, family = binomial)
trend <- list(estimate = unname(coef(g)["year"]),
              std_error = summary(g)$coefficients["year", "Std. Error"],
              p_value = summary(g)$coefficients["year", "Pr(>|z|)"],
              years = sort(unique(d$year)),
              rate = as.numeric(tapply(d$y, d$year, mean)))
out <- list(rd = het("RD"), or = het("OR"), rr = het("RR"), md = md,
            mh_or = mh("OR"), mh_rr = mh("RR"), mh_rd = mh("RD"),
            mantelhaen = list(estimate = unname(mt$estimate), ci = as.numeric(mt$conf.int),
                              statistic = unname(mt$statistic), p_value = mt$p.value),
            trend = trend,
            versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))))
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file = "expected.json")
print(tab)

# per-site effects in a matched sample (design SEs) and their heterogeneity:
# lalonde nn1 matched pairs (../lalonde_nn1.csv), site = subclass %% 4 (pairs stay in one site)
suppressMessages({library(sandwich)})
md <- read.csv("../lalonde_nn1.csv")
md$site <- paste0("S", md$subclass %% 4)
per <- lapply(split(md, md$site), function(s) {
  fb <- lm(employed ~ treat, data = s, weights = weights)
  fo <- glm(employed ~ treat, data = s, weights = weights, family = quasibinomial())
  c(rd = unname(coef(fb)["treat"]), rd_v = vcovCL(fb, cluster = ~subclass)["treat", "treat"],
    lor = unname(coef(fo)["treat"]), lor_v = vcovCL(fo, cluster = ~subclass)["treat", "treat"])
})
per <- do.call(rbind, per)
pool <- function(yi, vi) {
  fe <- rma(yi, vi, method = "FE"); dl <- rma(yi, vi, method = "DL")
  list(yi = unname(yi), vi = unname(vi), fe = unname(coef(fe)), fe_se = fe$se, q = fe$QE,
       q_p = fe$QEp, dl = unname(coef(dl)), dl_se = dl$se, tau2 = dl$tau2, i2 = dl$I2)
}
site_effects <- list(site = rownames(per), rd = pool(per[, "rd"], per[, "rd_v"]),
                     lor = pool(per[, "lor"], per[, "lor_v"]))
cat(toJSON(site_effects, auto_unbox = TRUE, digits = NA, pretty = TRUE),
    file = "expected_site_effects.json")
