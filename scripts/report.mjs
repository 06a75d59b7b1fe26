// Post-process the page Allure 3 generated (scripts/report.sh): keep it self-contained.
// Allure's awesome page always embeds Google Analytics (no option turns it off); a test report
// must not call home when opened. Cut that block, and fail if any external script is left, so
// an Allure upgrade that changes the markup is noticed instead of shipped.
//
//   node scripts/report.mjs IN.html OUT.html
import { readFileSync, writeFileSync } from "node:fs";

const [src, dst] = process.argv.slice(2);
if (!src || !dst) {
  console.error("usage: node scripts/report.mjs IN.html OUT.html");
  process.exit(2);
}
const html = readFileSync(src, "utf8").replace(
  /<script async src="https:\/\/www\.googletagmanager\.com\/[^"]*"><\/script>\s*<script>[\s\S]*?gtag\('config'[\s\S]*?<\/script>/,
  "",
);
const external = html.match(/<(script|link|img|iframe)[^>]+(src|href)="(https?:)?\/\/[^"]*"/g);
if (external || html.includes("googletagmanager")) {
  console.error(`report: external resource left in the page: ${external ?? "googletagmanager"}`);
  process.exit(1);
}
writeFileSync(dst, html);
