# One-factor variance components on lme4's real data (issue 14): Dyestuff, Dyestuff2 (a zero
# batch variance) and Penicillin (plate alone, sample alone), lmer REML + profile CIs.
#   Rscript vc_lme4_data.R   -> vc_dyestuff.csv, vc_dyestuff2.csv, vc_penicillin.csv, vc_lme4_data.json
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
write.csv(Dyestuff, "vc_dyestuff.csv", row.names = FALSE)
write.csv(Dyestuff2, "vc_dyestuff2.csv", row.names = FALSE)
write.csv(Penicillin, "vc_penicillin.csv", row.names = FALSE)
one <- function(fit, data, factor, value) {
  vc <- as.data.frame(VarCorr(fit))
  ci <- suppressWarnings(confint(fit, method = "profile", oldNames = FALSE, quiet = TRUE))
  ci <- ci[seq_len(nrow(vc)), , drop = FALSE]
  list(data = data, factor = factor, value = value, variance = vc$vcov, sd = vc$sdcor,
       sd_ci_lower = unname(ci[, 1]), sd_ci_upper = unname(ci[, 2]),
       mean = unname(fixef(fit)[1]), mean_se = unname(sqrt(diag(vcov(fit)))[1]),
       reml_criterion = unname(REMLcrit(fit)), singular = isSingular(fit))
}
out <- list(
  dyestuff = one(lmer(Yield ~ 1 + (1 | Batch), Dyestuff), "vc_dyestuff.csv", "Batch", "Yield"),
  dyestuff2 = one(suppressMessages(lmer(Yield ~ 1 + (1 | Batch), Dyestuff2)), "vc_dyestuff2.csv",
                  "Batch", "Yield"),
  penicillin_plate = one(lmer(diameter ~ 1 + (1 | plate), Penicillin), "vc_penicillin.csv",
                         "plate", "diameter"),
  penicillin_sample = one(lmer(diameter ~ 1 + (1 | sample), Penicillin), "vc_penicillin.csv",
                          "sample", "diameter"),
  source = paste("lme4", packageVersion("lme4"), "lmer REML; confint(method='profile')"))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "vc_lme4_data.json")
