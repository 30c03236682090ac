# Reference values for regmed.quality.associate(kind = "continuous", small_sample = True):
# lm + clubSandwich::vcovCR(type = "CR2") + coef_test/conf_int(test = "Satterthwaite").
# Inputs: cr2_patients.csv, cr2_lots.csv (simulated below, seed 20261122: 16 lots of 8
# donors, 1 to 9 patients per lot, numeric age and a 3-level site factor).
# Output: cr2.json. Run: Rscript cr2.R
suppressPackageStartupMessages({library(clubSandwich); library(jsonlite)})
if (!file.exists("cr2_patients.csv")) {
  set.seed(20261122)
  n_lots <- 16
  lots <- data.frame(lot_code = sprintf("L%02d", 1:n_lots),
                     donor_code = sprintf("D%d", rep(1:8, times = c(1, 2, 3, 1, 2, 4, 1, 2))),
                     a01 = round(rnorm(n_lots, 10, 2), 3), a02 = round(rexp(n_lots, 0.5), 3),
                     a03 = round(runif(n_lots, 50, 90), 2))
  size <- c(1, 9, 2, 5, 3, 7, 4, 1, 6, 2, 8, 3, 5, 2, 4, 6)
  pat <- data.frame(lot_code = rep(lots$lot_code, times = size))
  n <- nrow(pat)
  pat$age <- round(rnorm(n, 55, 12))
  pat$site <- sample(c("S1", "S2", "S3"), n, replace = TRUE)
  lot_eff <- rnorm(n_lots, 0, 1.5); names(lot_eff) <- lots$lot_code
  a01 <- lots$a01; names(a01) <- lots$lot_code
  pat$score <- round(20 + 0.4 * (a01[pat$lot_code] - 10) + 0.05 * pat$age +
                     1.5 * (pat$site == "S3") + lot_eff[pat$lot_code] + rnorm(n, 0, 2), 3)
  write.csv(pat, "cr2_patients.csv", row.names = FALSE)
  write.csv(lots, "cr2_lots.csv", row.names = FALSE)
}
pat <- read.csv("cr2_patients.csv"); lots <- read.csv("cr2_lots.csv")
pat$donor_code <- lots$donor_code[match(pat$lot_code, lots$lot_code)]
# lot L02's patients alone have site "S0": its dummy is L02's indicator, so I - H_jj of
# that cluster is singular (clubSandwich takes a generalized inverse square root)
pat$site_l02 <- ifelse(pat$lot_code == "L02", "S0", pat$site)
cases <- list(lot = c("lot_code", "site"), donor = c("donor_code", "site"),
              lot_leveraged = c("lot_code", "site_l02"))
attrs <- c("a01", "a02", "a03")
out <- list()
for (case in names(cases)) {
  cl <- cases[[case]][1]
  rows <- list()
  for (a in attrs) {
    z <- (lots[[a]] - mean(lots[[a]])) / sd(lots[[a]]); names(z) <- lots$lot_code
    d <- pat; d$x <- unname(z[d$lot_code])
    d$s <- d[[cases[[case]][2]]]
    f <- lm(score ~ x + age + factor(s), data = d)
    ct <- coef_test(f, vcov = "CR2", cluster = d[[cl]], test = "Satterthwaite")
    ci <- conf_int(f, vcov = "CR2", cluster = d[[cl]], test = "Satterthwaite", level = 0.95)
    rows[[a]] <- list(attribute = a, estimate = ct$beta[2], std_error = ct$SE[2],
                      df = ct$df_Satt[2], statistic = ct$tstat[2], p_value = ct$p_Satt[2],
                      ci_lower = ci$CI_L[2], ci_upper = ci$CI_U[2], n_patients = nrow(d),
                      n_lots = length(unique(d$lot_code)))
  }
  tab <- do.call(rbind, lapply(rows, as.data.frame)); rownames(tab) <- NULL
  tab$q_value <- p.adjust(tab$p_value, method = "BH")
  out[[case]] <- tab
}
out$source <- paste0("R ", getRversion(), " lm + clubSandwich ", packageVersion("clubSandwich"),
                     " coef_test/conf_int(vcov = 'CR2', test = 'Satterthwaite'); p.adjust BH")
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "cr2.json")
