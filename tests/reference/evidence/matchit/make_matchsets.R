# Reference matched sets, weights and balance tables for regmed.evidence.match / balance.
# MatchIt 4.7.2 built from its source (Debian's 4.5.1 ignores `caliper`):
#   R_LIBS=/path/to/private/lib Rscript make_matchsets.R   (run in this folder)
suppressMessages({library(MatchIt); library(jsonlite)})
stopifnot(packageVersion("MatchIt") >= "4.5.4")
lalonde <- read.csv("lalonde.csv", stringsAsFactors = FALSE)
rownames(lalonde) <- lalonde$id

# Simulated data: continuous, ties-free propensity scores, a 3-level site factor and a binary.
set.seed(20261122)
n <- 1500
sim <- data.frame(id = paste0("s", seq_len(n)),
                  x1 = rnorm(n), x2 = rnorm(n), x3 = rexp(n), bin = rbinom(n, 1, 0.4),
                  site = sample(c("north", "south", "west"), n, replace = TRUE, prob = c(.5, .3, .2)),
                  stringsAsFactors = FALSE)
lp <- -1.6 + 0.8 * sim$x1 - 0.5 * sim$x2 + 0.3 * sim$x3 + 0.4 * sim$bin + 0.5 * (sim$site == "south")
sim$treat <- rbinom(n, 1, plogis(lp))
rownames(sim) <- sim$id
write.csv(sim, "sim.csv", row.names = FALSE)

tab <- function(s) lapply(seq_len(nrow(s)), function(i) c(list(term = rownames(s)[i]),
                                                       as.list(setNames(unname(s[i, ]), colnames(s)))))
one <- function(data, f, ...) {
  m <- matchit(f, data = data, method = "nearest", distance = "glm", ...)
  mm <- m$match.matrix
  sets <- lapply(seq_len(nrow(mm)), function(i) list(treated = rownames(mm)[i],
                                                     controls = unname(mm[i, !is.na(mm[i, ])])))
  sets <- Filter(function(s) length(s$controls) > 0, sets)
  s <- summary(m, un = TRUE)
  list(args = list(...), distance = as.list(sprintf("%.17g", m$distance)), caliper = if (is.null(m$caliper)) NULL else unname(m$caliper),
       sets = sets,
       weights = as.list(m$weights[m$weights > 0]),
       subclass = if (is.null(m$subclass)) NULL else as.list(setNames(as.integer(as.character(m$subclass[!is.na(m$subclass)])), names(m$subclass)[!is.na(m$subclass)])),
       sum_all = tab(s$sum.all), sum_matched = tab(s$sum.matched),
       nn = lapply(as.data.frame(s$nn), function(x) as.list(setNames(x, rownames(s$nn)))))
}
fl <- treat ~ age + educ + race + married + nodegree + re74 + re75
fs <- treat ~ x1 + x2 + x3 + bin + site
configs <- list(
  r1_ps = list(ratio = 1),
  r1_logit = list(ratio = 1, link = "linear.logit"),
  r1_cal02_logit = list(ratio = 1, caliper = 0.2, link = "linear.logit"),
  r2_cal01_ps = list(ratio = 2, caliper = 0.1),
  r3_cal025_logit = list(ratio = 3, caliper = 0.25, link = "linear.logit"),
  r1_replace_ps = list(ratio = 1, replace = TRUE),
  r2_replace_cal02_logit = list(ratio = 2, replace = TRUE, caliper = 0.2, link = "linear.logit"),
  r1_smallest_cal02_logit = list(ratio = 1, m.order = "smallest", caliper = 0.2, link = "linear.logit"),
  r1_data_cal01_ps = list(ratio = 1, m.order = "data", caliper = 0.1),
  r2_data_logit = list(ratio = 2, m.order = "data", link = "linear.logit"),
  r2_exact_logit = list(ratio = 2, exact = "EXACT", link = "linear.logit"),
  r1_exact_smallest_cal02_logit = list(ratio = 1, exact = "EXACT", m.order = "smallest",
                                       caliper = 0.2, link = "linear.logit")
)
run_all <- function(data, f, exact_var) lapply(configs, function(a) {
  if (identical(a$exact, "EXACT")) a$exact <- as.formula(paste("~", exact_var))
  res <- do.call(one, c(list(data = data, f = f), a))
  if (!is.null(a$exact)) res$args$exact <- exact_var
  res
})
out <- list(lalonde = run_all(lalonde, fl, "race"), sim = run_all(sim, fs, "site"),
            versions = list(MatchIt = as.character(packageVersion("MatchIt")), R = R.version.string))
cat(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = FALSE, null = "null"), file = "matchsets.json")
