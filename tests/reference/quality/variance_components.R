# Reference values for regmed.quality.variance_components: lme4 REML fits and profile CIs.
# Run: Rscript variance_components.R  (writes vc_*.csv inputs and variance_components.json)
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
set.seed(20261122)
out <- list()
# 1. allogeneic: 8 donors, 2-5 lots each, 1-3 replicate results per lot (unbalanced)
rows <- list()
for (d in 1:8) {
  a <- rnorm(1, 0, 2)
  for (l in 1:sample(2:5, 1)) {
    b <- rnorm(1, 0, 1.2)
    for (r in 1:sample(1:3, 1)) rows[[length(rows) + 1]] <- data.frame(
      donor_code = sprintf("D%02d", d), lot_code = sprintf("D%02d-L%d", d, l),
      value = 50 + a + b + rnorm(1, 0, 0.8))
  }
}
nested <- do.call(rbind, rows)
write.csv(nested, "vc_nested.csv", row.names = FALSE)
# 2. one result per lot, several lots per donor
rows <- list()
for (d in 1:10) { a <- rnorm(1, 0, 1.5)
  for (l in 1:sample(1:4, 1)) rows[[length(rows) + 1]] <- data.frame(
    donor_code = sprintf("D%02d", d), lot_code = sprintf("D%02d-L%d", d, l),
    value = 90 + a + rnorm(1, 0, 1))}
single <- do.call(rbind, rows)
write.csv(single, "vc_single.csv", row.names = FALSE)
# 3. autologous: one lot per donor, 2-3 replicates
rows <- list()
for (d in 1:12) { a <- rnorm(1, 0, 0.7)
  for (r in 1:sample(2:3, 1)) rows[[length(rows) + 1]] <- data.frame(
    donor_code = sprintf("P%02d", d), lot_code = sprintf("P%02d-L1", d),
    value = 5 + a + rnorm(1, 0, 0.5))}
auto <- do.call(rbind, rows)
write.csv(auto, "vc_auto.csv", row.names = FALSE)

summarise <- function(fit, names) {
  vc <- as.data.frame(VarCorr(fit))
  ci <- confint(fit, method = "profile", oldNames = FALSE, quiet = TRUE)
  ci <- ci[seq_len(nrow(vc)), , drop = FALSE]
  list(component = names, variance = vc$vcov, sd = vc$sdcor,
       sd_ci_lower = unname(ci[, 1]), sd_ci_upper = unname(ci[, 2]),
       mean = unname(fixef(fit)[1]), mean_se = unname(sqrt(diag(vcov(fit)))[1]),
       reml_criterion = unname(REMLcrit(fit)))
}
f1 <- lmer(value ~ 1 + (1 | donor_code/lot_code), data = nested, REML = TRUE)
# as.data.frame(VarCorr) lists lot_code:donor_code first, then donor_code, then Residual
s1 <- summarise(f1, c("lot", "donor", "residual"))
out$nested <- s1
f2 <- lmer(value ~ 1 + (1 | donor_code), data = single, REML = TRUE)
out$single <- summarise(f2, c("donor", "residual"))
f3 <- lmer(value ~ 1 + (1 | donor_code), data = auto, REML = TRUE)
out$auto <- summarise(f3, c("donor", "residual"))
out$source <- paste("lme4", packageVersion("lme4"), "lmer REML; confint(method='profile')")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "variance_components.json")
