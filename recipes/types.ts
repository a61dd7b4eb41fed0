// The recipe vocabulary lives in src/model/recipe.ts (recipes import only the model).
export * from '../src/model/recipe.ts';
