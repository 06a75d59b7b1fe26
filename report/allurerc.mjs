// Allure 3 configuration for `make report` (scripts/report.sh): one self-contained HTML file.
// Categories live in categories.json (Allure 2 format, which Allure 3 accepts) so that the
// pytest plugin e2e.allure_env can also copy them next to the results for older viewers.
import { readFileSync } from "node:fs";
import { defineConfig } from "allure";

const here = new URL(".", import.meta.url);
const categories = JSON.parse(readFileSync(new URL("categories.json", here), "utf8"));

export default defineConfig({
  name: process.env.REPORT_NAME || "template-delivery E2E",
  categories: { rules: categories },
  // runner details that say nothing about the product (and name CI machines)
  hideLabels: ["host", "thread", "language", "framework"],
  plugins: {
    awesome: {
      options: {
        singleFile: true,
        reportName: process.env.REPORT_NAME || "template-delivery E2E",
        reportLanguage: "en",
        groupBy: ["suite"],
      },
    },
  },
});
