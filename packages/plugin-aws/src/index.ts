export { default as cloudMap, type CloudMapOptions } from './cloud-map.ts';
export { default as targetGroups, type TargetGroupsOptions } from './target-groups.ts';
