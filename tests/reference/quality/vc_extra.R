# More lme4 REML fits for regmed.quality.variance_components, incl. singular (zero) components.
# Writes vc_extra_<i>.csv (inputs) and vc_extra.json (components as lme4 names them).
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
set.seed(5)
res <- list()
for (i in 1:6) {
  nd <- sample(3:9, 1); rows <- list()
  sd_d <- c(0, 0.3, 1, 2, 0, 0.5)[i]; sd_l <- c(1, 0, 0.5, 1, 0, 2)[i]
  for (d in 1:nd) { a <- rnorm(1, 0, sd_d)
    for (l in 1:sample(1:4, 1)) { b <- rnorm(1, 0, sd_l)
      for (r in 1:sample(1:3, 1)) rows[[length(rows)+1]] <- data.frame(donor_code=paste0("D",d), lot_code=paste0("D",d,"L",l), value=10+a+b+rnorm(1))}}
  df <- do.call(rbind, rows); write.csv(df, sprintf("vc_extra_%d.csv", i), row.names=FALSE)
  nested <- any(table(df$lot_code) > 1) && length(unique(df$lot_code)) > nd
  f <- if (nested) lmer(value ~ 1 + (1|donor_code/lot_code), df) else lmer(value ~ 1 + (1|donor_code), df)
  vc <- as.data.frame(VarCorr(f)); res[[i]] <- list(grp = vc$grp, vcov = vc$vcov, crit = REMLcrit(f))
}
writeLines(toJSON(res, digits = NA, auto_unbox = TRUE), "vc_extra.json")
