# Reference values for regmed.evidence.sensitivity.
# E-values: the formulas of VanderWeele & Ding (2017, Annals of Internal Medicine 167:268, Table
# 2) as implemented in the R package EValue (evalues.RR / .OR / .HR / .MD; EValue is not
# installable here, so its formulas are written out below) -- plus the paper's worked example
# (RR 3.9, 95% CI 1.8-8.7: E-value 7.2, CI limit 3.0).
# Tipping points: every imputation of the missing outcomes, tested with fisher.test and with the
# unpooled Wald risk difference.
suppressMessages(library(jsonlite))
ev <- function(rr) { rr <- ifelse(rr < 1, 1 / rr, rr); rr + sqrt(rr * (rr - 1)) }
hr_to_rr <- function(hr) (1 - 0.5^sqrt(hr)) / (1 - 0.5^sqrt(1 / hr))
evci <- function(est, lo, hi) {
  if (est > 1) { if (lo <= 1) 1 else ev(lo) } else { if (hi >= 1) 1 else ev(hi) }
}
cases <- list(
  rr_paper = list(measure = "risk_ratio", est = 3.9, lo = 1.8, hi = 8.7, rare = FALSE),
  rr_protective = list(measure = "risk_ratio", est = 0.6, lo = 0.45, hi = 0.8, rare = FALSE),
  rr_null_ci = list(measure = "risk_ratio", est = 1.3, lo = 0.9, hi = 1.9, rare = FALSE),
  or_common = list(measure = "odds_ratio", est = 2.5, lo = 1.4, hi = 4.4, rare = FALSE),
  or_rare = list(measure = "odds_ratio", est = 2.5, lo = 1.4, hi = 4.4, rare = TRUE),
  hr_common = list(measure = "hazard_ratio", est = 0.55, lo = 0.38, hi = 0.79, rare = FALSE),
  hr_rare = list(measure = "hazard_ratio", est = 0.55, lo = 0.38, hi = 0.79, rare = TRUE)
)
evalues <- lapply(cases, function(c) {
  conv <- switch(c$measure, risk_ratio = identity,
                 odds_ratio = if (c$rare) identity else sqrt,
                 hazard_ratio = if (c$rare) identity else hr_to_rr)
  rr <- conv(c$est); lo <- conv(c$lo); hi <- conv(c$hi)
  c(c, list(rr = rr, rr_lo = lo, rr_hi = hi, e_value = ev(rr), e_value_ci = evci(rr, lo, hi)))
})
# mean difference: d = 0.5 / 1 SD, se 0.15 SD -> exp(0.91 d), CI exp(0.91 d -/+ 1.78 se)
d <- 0.5; se <- 0.15
md <- list(estimate = 5, sd = 10, se = 1.5, rr = exp(0.91 * d),
           rr_lo = exp(0.91 * d - 1.78 * se), rr_hi = exp(0.91 * d + 1.78 * se))
md$e_value <- ev(md$rr); md$e_value_ci <- evci(md$rr, md$rr_lo, md$rr_hi)

# risk difference (Ding & VanderWeele 2016), written out as EValue::evalues.RD does: closed-form
# bounding factor for the estimate; grid search (step 1e-5) over B for the CI limit
rd_ev <- function(n11, n10, n01, n00, true = 0, alpha = 0.05, grid = 1e-5) {
  N1 <- n11 + n10; N0 <- n01 + n00; N <- N1 + N0; f <- N1 / N
  p1 <- n11 / N1; p0 <- n01 / N0
  diff <- p0 * (1 - f) - p1 * f
  bf <- (sqrt((true + diff)^2 + 4 * p1 * p0 * f * (1 - f)) - (true + diff)) / (2 * p0 * f)
  z <- qnorm(1 - alpha / 2)
  v1 <- p1 * (1 - p1) / N1; v0 <- p0 * (1 - p0) / N0; vf <- f * (1 - f) / N
  lower <- function(b) {
    adj <- (p1 - p0 * b) * (f + (1 - f) / b)
    g <- c(f + (1 - f) / b, -(b * f + 1 - f), (p1 - p0 * b) * (1 - 1 / b))
    adj - z * sqrt(sum(g^2 * c(v1, v0, vf)))
  }
  if (p1 - p0 - z * sqrt(v1 + v0) <= true) bci <- 1 else {
    bs <- seq(1, bf, by = grid); bci <- bs[which(sapply(bs, lower) <= true)[1]]
  }
  list(n = c(n11, n10, n01, n00), true = true, bf = bf, e_value = ev(bf), b_ci = bci,
       e_value_ci = ev(bci))
}
rd <- list(a = rd_ev(50, 50, 25, 75), b = rd_ev(40, 20, 30, 60), c = rd_ev(30, 70, 20, 80),
           d = rd_ev(60, 40, 20, 80, true = 0.1))

tp <- function(r1, o1, m1, r0, o0, m0) {
  g <- expand.grid(x1 = 0:m1, x0 = 0:m0)
  n1 <- o1 + m1; n0 <- o0 + m0
  res <- t(apply(g, 1, function(z) {
    a <- r1 + z[["x1"]]; b <- r0 + z[["x0"]]
    p1 <- a / n1; p0 <- b / n0; se <- sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    c(rd = p1 - p0, lo = p1 - p0 - qnorm(0.975) * se,
      fisher = fisher.test(matrix(c(a, n1 - a, b, n0 - b), 2, byrow = TRUE))$p.value)
  }))
  list(x1 = g$x1, x0 = g$x0, rd = res[, "rd"], ci_lower = res[, "lo"], fisher_p = res[, "fisher"])
}
tipping <- list(
  args = list(r1 = 30, o1 = 45, m1 = 8, r0 = 18, o0 = 44, m0 = 6),
  grid = tp(30, 45, 8, 18, 44, 6))
cat(toJSON(list(evalues = evalues, risk_difference = rd, mean_difference = md, tipping = tipping,
                versions = list(R = R.version.string)),
           auto_unbox = TRUE, digits = NA, pretty = TRUE), file = "expected.json")
