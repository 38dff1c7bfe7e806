// Package exampleutil holds what the example services share and a library user never
// imports: opening the selected Redis (real, cluster or embedded miniredis), the
// logger, MySQL database housekeeping and finding Chromium for browser tests.
package exampleutil
