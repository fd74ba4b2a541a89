import helper from "./index.cjs";
export const { log, inputPath, outputPath, parameter, inputDatasets } = helper;
